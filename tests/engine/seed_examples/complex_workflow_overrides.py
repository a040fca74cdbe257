"""The SDK's per-call override example (datatailr 0.2.3, scheduler/workflow.py docs), verbatim except imports."""
# ruff: noqa: F841, I001
# fmt: off


from datatailr_jupyter import workflow
from tests.engine.seed_examples.complex_workflow import add, get_number, reduce_list

@workflow("Complex Workflow")
def complex_workflow():
    total_1 = add(get_number().alias('my number'), 13).alias('first addition')
    total_2 = reduce_list(*[get_number().alias(f"num_{i}") for i in range(5)])
    add(total_2, 1).set_resources(memory="512m", cpu=0.5).alias('add one')
    add(total_2, 2).update_env_vars({"MODE": "fast"}).alias('add two')
    add(total_2, 3).alias('add three')
