"""Entry points for the tests' real processes, with fault injection installed.

Fault injection lives here, in the tests, and nowhere in the product: no setting, environment
or APP_ENV value of a deployment can switch it on. `python -m tests.harness.worker ...` and
`python -m tests.harness.api` run the product's own worker and API after `faults.install()`.
"""
