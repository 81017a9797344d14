from __future__ import annotations

from pathlib import Path

import pytest

from dcmview_tunnel import Target, connect, parse_target, remote_command_line, resolve


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gpu", Target("gpu")),
        ("me@gpu", Target("gpu", "me")),
        ("me@gpu:2222", Target("gpu", "me", 2222)),
        ("me@[::1]:22", Target("::1", "me", 22)),
        ("::1", Target("::1")),
        ("a@b@host", Target("host", "a@b")),
    ],
)
def test_parse_target(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "  ", "-oProxyCommand=touch /tmp/x", "me@-oProxyCommand=x", "-@host", "a b", "h:0", "h:x"],
)
def test_parse_target_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="tunnel host"):
        parse_target(text)


def test_connect_refuses_option_injection_before_connecting() -> None:
    with pytest.raises(ValueError, match="must not start with '-'"):
        connect("-oProxyCommand=sh -c 'touch /tmp/pwned'")


def test_connect_refuses_missing_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ssh config file not found"):
        connect("host", ssh_config=tmp_path / "nope")


def test_resolve_reads_ssh_config(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "Host gpu\n  HostName 10.1.2.3\n  User alice\n  Port 2200\n"
        "  IdentityFile ~/.ssh/gpu_key\n  UserKnownHostsFile /tmp/kh1 /tmp/kh2\n"
        "Host jump-*\n  ProxyJump bastion\n"
    )
    got = resolve(parse_target("gpu"), config)
    assert (got.hostname, got.user, got.port) == ("10.1.2.3", "alice", 2200)
    assert got.identity_files == (str(Path("~/.ssh/gpu_key").expanduser()),)
    assert got.known_hosts_files == ("/tmp/kh1", "/tmp/kh2")
    assert not got.proxy
    assert resolve(parse_target("bob@gpu:22"), config).user == "bob"
    assert resolve(parse_target("bob@gpu:22"), config).port == 22
    assert resolve(parse_target("jump-a"), config).proxy


def test_hostname_from_config_starting_with_dash_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host evil\n  HostName -oProxyCommand=x\n")
    with pytest.raises(ValueError, match="HostName"):
        resolve(parse_target("evil"), config)


def test_remote_command_line_quotes_each_argument() -> None:
    assert remote_command_line(["dcmview", "a b", "$(x)", "it's"]) == (
        "dcmview 'a b' '$(x)' 'it'\"'\"'s'"
    )
    with pytest.raises(TypeError):
        remote_command_line("dcmview --no-browser")
    with pytest.raises(TypeError):
        remote_command_line([])
