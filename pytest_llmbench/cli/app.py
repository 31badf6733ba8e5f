"""The `llmbench` entry point: the typer app with its commands, and `main`, argv to exit code."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import typer

from pytest_llmbench import errors, secrets
from pytest_llmbench.cli.context import CliState, TransportFactory
from pytest_llmbench.cli.exits import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    ClickException,
    UsageError,
    exit_code_for,
    print_error,
    say_interrupted,
)
from pytest_llmbench.cli.models import models
from pytest_llmbench.cli.one_prompt import one_prompt
from pytest_llmbench.cli.run import run
from pytest_llmbench.cli.validate import validate
from pytest_llmbench.config import ConfigError
from pytest_llmbench.prompts import PromptFileError

app = typer.Typer(
    name="llmbench",
    help="LLM provider checks and latency runs from the command line (see also pytest --llm-*).",
    no_args_is_help=True,
    add_completion=False,
    # click's plain help: one line per option with its help beside it, readable at 80 columns
    # (rich's panels give the help text a thin column there).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
# The commands, in the order `llmbench --help` lists them.
app.command()(models)
app.command("test")(one_prompt)
app.command()(run)
app.command()(validate)


def main(
    argv: Sequence[str] | None = None,
    *,
    transport: TransportFactory | None = None,
) -> int:
    """Run `llmbench` with `argv` (default: sys.argv[1:]) and return its exit code.

    `transport`, when given, makes the httpx transport under every client (a mock in tests).
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    state = CliState(transport=transport, argv=args)
    command = typer.main.get_command(app)
    try:
        result = command.main(
            args=args,
            prog_name="llmbench",
            standalone_mode=False,
            obj=state,
        )
    except UsageError as error:
        error.show(file=sys.stderr)
        return EXIT_USAGE
    except ClickException as error:
        error.show(file=sys.stderr)
        return EXIT_USAGE if error.exit_code == 2 else error.exit_code
    except (typer.Abort, KeyboardInterrupt):
        say_interrupted()
        return EXIT_INTERRUPTED
    except (ConfigError, PromptFileError) as error:
        print_error(str(error))
        return EXIT_USAGE
    except errors.ProviderError as error:
        print_error(str(error))
        return exit_code_for(error)
    except Exception as error:
        if state.verbose:
            print_error(secrets.redact(traceback.format_exc()))
        else:
            print_error(f"internal error: {type(error).__name__}: {error}")
            print_error("  hint: rerun with --verbose for the traceback, and report it")
        return EXIT_ERROR
    finally:
        state.close()
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
