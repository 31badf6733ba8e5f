"""The ready-made conformance suite, run against every selected provider:model."""

from pytest_llmbench.conformance import *  # noqa: F403
