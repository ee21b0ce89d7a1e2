"""Configuration defaults given by a plugin the pipeline lists in settings.PLUGINS."""

PLUGIN = '''
from outflow.core.plugins import hookimpl


@hookimpl
def outflow_config_defaults(register):
    register("greeting", {"word": "hello", "times": 2})
'''

COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.pipeline import config


@RootCommand.subcommand(db_untracked=True)
class Greet(Command):
    def setup_tasks(self):
        print(" ".join([config["greeting"]["word"]] * config["greeting"]["times"]))
'''


def test_a_pipeline_plugins_defaults_apply_under_the_file(run_cli, make_pipeline):
    root = make_pipeline(plugins=["greeter"], files={
        "plugins/greeter/greeter/__init__.py": PLUGIN,
        "plugins/greeter/greeter/commands.py": COMMANDS,
    })
    code, out, err = run_cli(["greet"], root)
    assert code == 0, err
    assert out == "hello hello\n"
    (root / "config.yml").write_text("greeting:\n  word: bonjour\n")
    code, out, err = run_cli(["greet"], root)
    assert code == 0, err
    assert out == "bonjour bonjour\n"  # the file wins key by key
