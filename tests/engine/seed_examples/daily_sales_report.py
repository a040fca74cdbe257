"""The seed docs' first example (docs.datatailr.com, "Workflows"), verbatim except for the import line."""
# ruff: noqa: F841, I001
# fmt: off


from datatailr_jupyter import workflow, task

@task()
def fetch_data():
    return {"sales": [100, 200, 150]}

@task()
def calculate_total(data):
    return sum(data["sales"])

@workflow(name="daily_sales_report")
def sales_pipeline():
    data = fetch_data()
    total = calculate_total(data)
