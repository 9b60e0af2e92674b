"""Settings: defaults, config file (with line-numbered errors), environment overrides, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecctl.errors import UsageError
from ipsecctl.settings import Settings, config_file, load_settings, paths


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # platformdirs reads the real environment: keep the developer's own config out of it.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return {"IPSECCTL_STATE_DIR": str(tmp_path / "state"), "IPSECCTL_DATA_DIR": str(tmp_path / "d")}


def test_defaults_without_config(tmp_path, env):
    # No IPSECCTL_CONFIG and an empty XDG config home: the default file is absent, which is fine.
    assert config_file(env) == tmp_path / "xdg" / "ipsecctl" / "config.yaml"
    s = load_settings(env=env)
    assert (s.workers, s.connect_timeout, s.command_timeout) == (16, 10.0, 30.0)
    assert (s.device_timeout, s.refresh_interval) == (120.0, 5.0)
    assert s.host_key_policy is None and s.read_only is False
    assert s.audit_log == tmp_path / "state" / "audit.jsonl"
    assert s.history == tmp_path / "state" / "history.sqlite3"
    assert s.lab_dir == tmp_path / "state" / "lab"
    assert s.known_hosts == tmp_path / "d" / "known_hosts"


def test_config_file_then_env(tmp_path, env):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "workers: 4\nrefresh_interval: 2.5\nhost_key_policy: accept-new\n"
        "audit_log: logs/audit.jsonl\nread_only: false\n"
    )
    s = load_settings(cfg, env=env)
    assert s.workers == 4 and s.refresh_interval == 2.5
    assert s.host_key_policy == "accept-new"
    assert s.audit_log == tmp_path / "logs" / "audit.jsonl"  # relative to the config file
    s = load_settings(
        cfg,
        env={
            **env,
            "IPSECCTL_WORKERS": "32",
            "IPSECCTL_READ_ONLY": "yes",
            "IPSECCTL_HOST_KEY_POLICY": "auto",
        },
    )
    assert s.workers == 32 and s.read_only is True and s.host_key_policy is None


def test_ipsecctl_config_env_points_at_file(tmp_path, env):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("command_timeout: 7\n")
    env["IPSECCTL_CONFIG"] = str(cfg)
    assert config_file(env) == cfg
    assert load_settings(env=env).command_timeout == 7


def test_unknown_key_names_file_line_and_key(tmp_path, env):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("workers: 4\nwokers: 5\n")
    with pytest.raises(UsageError) as err:
        load_settings(cfg, env=env)
    assert str(err.value).startswith(f"{cfg}:2: unknown setting 'wokers' (did you mean: workers?)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("workers: 0\n", ":1: workers: Input should be greater than or equal to 1"),
        ("host_key_policy: yolo\n", ":1: host_key_policy: Input should be"),
        ("[1, 2]\n", "config file must be a mapping"),
        ("workers: [\n", "YAML syntax error"),
    ],
)
def test_bad_config_values(tmp_path, env, text, expected):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(text)
    with pytest.raises(UsageError) as err:
        load_settings(cfg, env=env)
    assert expected in str(err.value)


def test_bad_env_values_name_the_variable(tmp_path, env):
    with pytest.raises(UsageError, match="IPSECCTL_READ_ONLY='maybe'"):
        load_settings(env={**env, "IPSECCTL_READ_ONLY": "maybe"})
    with pytest.raises(UsageError, match=r"^IPSECCTL_WORKERS: workers: "):
        load_settings(env={**env, "IPSECCTL_WORKERS": "many"})


def test_explicit_missing_config_is_an_error(tmp_path, env):
    with pytest.raises(UsageError, match="file not found"):
        load_settings(tmp_path / "nope.yaml", env=env)


def test_paths_for_info(tmp_path, env):
    env["IPSECCTL_CONFIG"] = str(tmp_path / "c.yaml")
    (tmp_path / "c.yaml").write_text("")
    found = paths(env=env)
    assert found["config"] == tmp_path / "c.yaml"
    assert found["audit_log"] == tmp_path / "state" / "audit.jsonl"
    assert found["log_file"] == tmp_path / "state" / "ipsecctl.log"
    assert set(found) >= {"known_hosts", "lab_dir", "history", "data_dir", "state_dir"}
    assert isinstance(Settings().workers, int)


def test_keymap_for_the_dashboard(tmp_path, env):
    assert load_settings(env=env).keymap == {}
    cfg = tmp_path / "config.yaml"
    cfg.write_text("workers: 4\nkeymap:\n  rekey: R\n  quit: q,ctrl+q\n")
    assert load_settings(cfg, env=env).keymap == {"rekey": "R", "quit": "q,ctrl+q"}
    cfg.write_text("workers: 4\nkeymap: [R]\n")  # not a mapping: file, line and field named
    with pytest.raises(UsageError, match=r"config\.yaml:2: keymap: "):
        load_settings(cfg, env=env)
