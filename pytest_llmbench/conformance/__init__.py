"""A ready-made conformance suite: does the provider still behave as our code assumes?

Run it on every selected provider:model with no test module of your own:

    pytest --llm-conformance --llm-provider=openai,anthropic

or from any test module (the checks run against every selected provider:model):

    from pytest_llmbench.conformance import *  # noqa: F403

Each check is an ordinary live test: real calls with credentials, replayed cassettes without.
Checks needing a capability (tools, json_schema, vision, ...) skip models that lack it, and
checks of a feature a wire format does not document (a seed, a prefill) skip it, saying why.
The checks are grouped by theme, one module each: answers, streaming, parameters, messages,
tools, structured output, errors, vision.
"""

from pytest_llmbench.conformance import (
    answers,
    errors,
    messages,
    parameters,
    streaming,
    structured,
    tools,
    vision,
)
from pytest_llmbench.conformance.answers import *  # noqa: F403
from pytest_llmbench.conformance.errors import *  # noqa: F403
from pytest_llmbench.conformance.messages import *  # noqa: F403
from pytest_llmbench.conformance.parameters import *  # noqa: F403
from pytest_llmbench.conformance.streaming import *  # noqa: F403
from pytest_llmbench.conformance.structured import *  # noqa: F403
from pytest_llmbench.conformance.tools import *  # noqa: F403
from pytest_llmbench.conformance.vision import *  # noqa: F403

__all__ = [
    *answers.__all__,
    *streaming.__all__,
    *parameters.__all__,
    *messages.__all__,
    *tools.__all__,
    *structured.__all__,
    *errors.__all__,
    *vision.__all__,
]
