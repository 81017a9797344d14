"""The options of ``dcmview`` and ``view()``, each declared once, and what is derived from them.

Server options are the fields of `dcmview_server.ServerConfig`; the options only this package
uses (browser, demo, tunnel, remote inputs, output) are the fields of `CliOptions`. Both carry
an `Option` (flags, help, parse, check). From the two tables come the argparse parser
(`build_parser`), the parsed `Invocation` (`parse`), ``view()``'s keyword checks
(`from_keywords`) and the argument lists given to child processes (`to_argv`).

To add a flag: add one field (with `option(...)`) to `ServerConfig` if the server uses it, else
to `CliOptions`; then use the value where it matters. A rule between several options goes in
`check_rules`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from dcmview_server.config import (
    DEFAULT_HOST,
    ConfigError,
    Option,
    ServerConfig,
    check_environment,
    check_options,
    integer,
    is_url,
    option,
    options_of,
    path_text,
    port_number,
    positive_int,
    switch,
    text,
)

PROG = "dcmview"
GROUPS = {
    "server": ("server", None),
    "files": ("files", None),
    "remote": (
        "remote inputs (DICOMweb, object storage)",
        "PATH may also be a URL (s3://bucket/prefix, https://host/dicomweb, ...)",
    ),
    "tunnel": (
        "remote viewing over SSH",
        "SSH goes through paramiko (agent, ~/.ssh keys, ssh_config, known_hosts; unknown host\n"
        "keys are refused), else the system ssh (ProxyJump, hardware keys, ...);\n"
        "DCMVIEW_SSH_BACKEND=paramiko|ssh forces one.",
    ),
    "output": ("output", None),
}


def ssh_target(value: object) -> str:
    """``[USER@]HOST[:PORT]``, checked by dcmview-tunnel (no leading ``-``: option injection)."""
    from dcmview_tunnel.target import parse_target

    target = text(value)
    parse_target(target)
    return target


def key_value(value: object) -> str:
    """``KEY=VALUE`` with a non-empty key."""
    item = text(value)
    key, sep, _ = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"invalid {item!r}: expected KEY=VALUE")
    return item


def single_line(value: object) -> str:
    """A non-blank string without newlines or NUL."""
    item = text(value)
    if "\x00" in item or "\n" in item:
        raise ValueError("must be a single line")
    return item


@dataclass(frozen=True)
class CliOptions:
    """The options of the command itself (not of the server), declared as data."""

    demo: bool = option(
        False,
        "--demo",
        check=switch,
        group="files",
        help="view a built-in synthetic study (copied to a private temporary directory, "
        "removed on exit)",
    )
    browser: bool = option(
        True,
        "--no-browser",
        check=switch,
        invert=True,
        help="print the URL instead of opening a browser",
    )
    verbose: bool = option(
        False,
        "-v",
        "--verbose",
        check=switch,
        group="output",
        help="list every skipped file with its reason",
    )
    studies: tuple[str, ...] = option(
        (),
        "--study",
        metavar="UID",
        check=text,
        parse=str,
        repeat=True,
        group="remote",
        help="a study of the DICOMweb PATH to view (StudyInstanceUID); repeatable",
    )
    queries: tuple[str, ...] = option(
        (),
        "--query",
        metavar="KEY=VALUE",
        check=key_value,
        parse=str,
        repeat=True,
        group="remote",
        help="view the studies of the DICOMweb PATH matching this QIDO-RS query, e.g. "
        "--query PatientID=P001; repeatable (all must match)",
    )
    query_limit: int = option(
        100,
        "--query-limit",
        metavar="N",
        check=positive_int,
        parse=integer,
        group="remote",
        help="at most this many studies from --query (default: 100)",
    )
    dicomweb_token: str | None = option(
        None,
        "--dicomweb-token",
        metavar="TOKEN",
        check=single_line,
        parse=str,
        group="remote",
        env="DCMVIEW_DICOMWEB_TOKEN",
        help="bearer token for the DICOMweb server; better: set DCMVIEW_DICOMWEB_TOKEN "
        "(a command line is visible to other users)",
    )
    s3_endpoint: str | None = option(
        None,
        "--s3-endpoint",
        metavar="URL",
        check=text,
        parse=str,
        group="remote",
        help="S3-compatible endpoint for s3:// PATHs (or set AWS_ENDPOINT_URL)",
    )
    tunnel: bool = option(
        False,
        "--tunnel",
        check=switch,
        group="tunnel",
        keyword="",
        help="start dcmview on --tunnel-host over SSH and view it through a local port "
        "forward; PATHs are paths on that host",
    )
    tunnel_target: str | None = option(
        None,
        "--tunnel-host",
        metavar="[USER@]HOST",
        check=ssh_target,
        parse=str,
        group="tunnel",
        keyword="tunnel_host",
        help="SSH target (an ssh_config alias works); required with --tunnel",
    )
    tunnel_port: int = option(
        0,
        "--tunnel-port",
        metavar="N",
        check=port_number,
        parse=integer,
        group="tunnel",
        help="local port of the forward; 0 = the remote server's port when free, else any "
        "(default: 0)",
    )
    remote_command: str = option(
        "dcmview",
        "--remote-command",
        metavar="CMD",
        check=single_line,
        parse=str,
        group="tunnel",
        help="how to start dcmview on the tunnel host, as its shell reads it, e.g. "
        "'~/venv/bin/dcmview' or 'conda run -n imaging dcmview' (default: dcmview)",
    )
    ssh_config: str | None = option(
        None,
        "--ssh-config",
        metavar="FILE",
        check=path_text,
        parse=str,
        group="tunnel",
        help="ssh_config file to read instead of ~/.ssh/config (both backends)",
    )
    exit_on_eof: bool = option(
        False, "--exit-on-eof", check=switch, hidden=True, keyword="", help="view()'s child"
    )
    remove_on_exit: str | None = option(
        None,
        "--remove-on-exit",
        metavar="DIR",
        check=path_text,
        parse=str,
        hidden=True,
        keyword="",
        help="view()'s temporary directory",
    )

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class Invocation:
    """One run of dcmview: the server's config and the command's own options."""

    server: ServerConfig
    cli: CliOptions

    @property
    def remote_inputs(self) -> bool:
        """Whether DICOMweb/object-storage inputs need resolving before serving."""
        return bool(
            self.cli.studies or self.cli.queries or any(is_url(p) for p in self.server.paths)
        )


def check_rules(inv: Invocation) -> None:
    """The rules between options (each option's own value was checked when it was built)."""
    server, cli = inv.server, inv.cli
    if cli.demo and (server.paths or cli.studies or cli.queries):
        raise ConfigError("--demo takes no PATH, --study or --query")
    if not cli.demo and not server.paths:
        raise ConfigError("missing PATH (a DICOM file or directory), or use --demo")
    if cli.tunnel_target is not None and not cli.tunnel:
        raise ConfigError("--tunnel-host needs --tunnel")
    if cli.tunnel:
        if cli.tunnel_target is None:
            raise ConfigError("--tunnel needs --tunnel-host [USER@]HOST")
        if server.unix_socket is not None:
            raise ConfigError("--unix-socket cannot be used with --tunnel")
        if server.host != DEFAULT_HOST:
            raise ConfigError("--host cannot be used with --tunnel (the forward is local only)")
        if inv.remote_inputs:
            raise ConfigError(
                "remote sources (URLs, --study, --query) cannot be used with --tunnel"
            )
        if cli.ssh_config is not None and not os.path.isfile(cli.ssh_config):
            raise ConfigError(f"--ssh-config file not found: {cli.ssh_config}")
    else:
        defaults = CliOptions()
        for name in ("ssh_config", "tunnel_port", "remote_command"):
            if getattr(cli, name) != getattr(defaults, name):
                raise ConfigError(f"{_flag(CliOptions, name)} needs --tunnel")


def _flag(cls: type[Any], name: str) -> str:
    return dict(options_of(cls))[name].flags[-1]


def _tables() -> list[tuple[type[Any], str, Option]]:
    return [(cls, name, opt) for cls in (ServerConfig, CliOptions) for name, opt in options_of(cls)]


# ---- argparse ----------------------------------------------------------------------------------


class ExitRequest(Exception):
    """``--help``/``--version``: argparse wants to exit with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse that raises `ConfigError` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        raise ExitRequest(status)


def _arg_type(opt: Option) -> Any:
    assert opt.parse is not None
    parse = opt.parse

    def convert(value: str) -> Any:
        try:
            return opt.check(parse(value))
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = opt.metavar or "value"
    return convert


def build_parser(*, description: str, epilog: str, usage: str, version: str) -> _Parser:
    """The argparse parser of every declared option (derived from the two tables)."""
    parser = _Parser(
        prog=PROG,
        usage=usage,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    groups: dict[str, Any] = {}
    for _cls, name, opt in _tables():
        if not opt.flags:
            parser.add_argument(name, nargs="*", metavar=opt.metavar, help=opt.help)
            continue
        if opt.group not in groups:
            title, text_ = GROUPS[opt.group]
            groups[opt.group] = parser.add_argument_group(title, text_)
        kwargs: dict[str, Any] = {
            "dest": name,
            "help": argparse.SUPPRESS if opt.hidden else opt.help,
        }
        if opt.parse is None:
            kwargs["action"] = "store_false" if opt.invert else "store_true"
        else:
            kwargs.update(type=_arg_type(opt), metavar=opt.metavar, default=None)
            if opt.repeat:
                kwargs["action"] = "append"
        (parser if opt.hidden else groups[opt.group]).add_argument(*opt.flags, **kwargs)
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version}", help="print the version"
    )
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> Invocation:
    """Parse ``argv`` into an `Invocation`; `ConfigError` for any problem."""
    ns = parser.parse_args(list(argv))
    values: dict[str, Any] = {}
    for _cls, name, opt in _tables():
        value = getattr(ns, name)
        if value is None and opt.env:
            value = os.environ.get(opt.env) or None
        if value is not None:
            values[name] = tuple(value) if opt.repeat else value
    return _build(values)


def _build(values: Mapping[str, Any]) -> Invocation:
    server_names = {name for name, _ in options_of(ServerConfig)}
    server_values = {k: v for k, v in values.items() if k in server_names}
    server = ServerConfig(**{"paths": (), **server_values})
    cli = CliOptions(**{k: v for k, v in values.items() if k not in server_names})
    inv = Invocation(server, cli)
    check_rules(inv)
    if not cli.tunnel:
        check_environment(server)
    return inv


# ---- view() --------------------------------------------------------------------------------------


def keywords() -> dict[str, tuple[str, Option]]:
    """``view()`` keyword → (field name, Option), for every option ``view()`` accepts."""
    out: dict[str, tuple[str, Option]] = {}
    for _cls, name, opt in _tables():
        keyword = name if opt.keyword is None else opt.keyword
        if keyword:
            out[keyword] = (name, opt)
    return out


def from_keywords(paths: Sequence[str], given: Mapping[str, Any]) -> Invocation:
    """The `Invocation` for ``view()``'s keyword arguments (``TypeError`` for an unknown one,
    `ConfigError`/``TypeError`` for a bad value, before anything starts)."""
    table = keywords()
    values: dict[str, Any] = {"paths": tuple(paths)}
    for keyword, value in given.items():
        if keyword not in table:
            raise TypeError(
                f"view() got an unexpected keyword argument {keyword!r}; dcmview options are "
                + ", ".join(sorted(table))
            )
        name, opt = table[keyword]
        if value is None and opt.check is not switch:
            continue
        values[name] = value
    if values.get("tunnel_target") is not None:
        values["tunnel"] = True
    return _build(values)


def to_argv(instance: Any, *, skip: Sequence[str] = ()) -> list[str]:
    """The command-line arguments that reproduce ``instance``'s non-default option values
    (``--flag=value`` so that a value starting with ``-`` stays a value). Secrets (options
    with ``env``) and positional arguments are left out."""
    defaults = {f.name: f.default for f in dataclasses.fields(instance)}
    argv: list[str] = []
    for name, opt in options_of(type(instance)):
        value = getattr(instance, name)
        if name in skip or not opt.flags or opt.env or value == defaults.get(name):
            continue
        flag = opt.flags[-1]
        if opt.parse is None:
            argv.append(flag)
        elif opt.repeat:
            argv += [f"{flag}={_text(item)}" for item in value]
        else:
            argv.append(f"{flag}={_text(value)}")
    return argv


def secret_env(instance: Any) -> dict[str, str]:
    """The environment variables that carry ``instance``'s secret option values."""
    return {
        opt.env: str(getattr(instance, name))
        for name, opt in options_of(type(instance))
        if opt.env and getattr(instance, name) is not None
    }


def _text(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)
