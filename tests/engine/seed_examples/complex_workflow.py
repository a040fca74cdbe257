"""The SDK's "Complex Workflow" reference (datatailr 0.2.3, scheduler/workflow.py docs), verbatim except imports."""
# ruff: noqa: F841, I001
# fmt: off


from datatailr_jupyter import workflow, task
@task()
def get_number():
    return 42

@task()
def add(a, b):
    return a + b

@task()
def reduce_list(*numbers):
    print(f"Reducing list: {numbers}")
    return sum(numbers)

@workflow("Complex Workflow")
def complex_workflow():
    total_1 = add(get_number().alias('my number'), 13).alias('first addition')
    total_2 = reduce_list(*[get_number().alias(f"num_{i}") for i in range(5)])
    add(total_2, 1).alias('add one')
    add(total_2, 2).alias('add two')
    add(total_2, 3).alias('add three')
    add(total_2, 4).alias('add four')
    add(total_2, 5).alias('add five')
