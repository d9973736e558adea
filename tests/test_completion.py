"""Tab completion: ``zbulk completion SHELL``, the committed scripts in completions/, and
real bash, zsh and fish completing with them against the installed ``zbulk`` script.

A shell that is not installed is skipped, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from zbulk import history
from zbulk.cli import main
from zbulk.commands import completion
from zbulk.commands.job import commands as job_commands_set

if TYPE_CHECKING:
    from zbulk.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
FILES = {"bash": "zbulk.bash", "zsh": "_zbulk", "fish": "zbulk.fish"}
BIN = Path(sys.executable).parent
TIMEOUT = 10  # seconds, for each shell process
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")

# Recorded oldest first, so history lists them newest first: not their sorted order.
SEEN = [
    ("4150868000005350003", "COMPLETED"),
    ("4150868000005392002", "IN PROGRESS"),
    ("4150868000001111111", "FAILED"),
]
NEWEST_FIRST = [job_id for job_id, _ in reversed(SEEN)]
STATUS = dict(SEEN)
SEEN_AT = 1_700_000_000.0  # when SEEN was recorded (one second apart)
DAY = time.strftime("%Y-%m-%d", time.localtime(SEEN_AT))
# What zsh and fish show beside each id: its last status and the day it was seen.
DESCRIBED = [(job_id, f"{status} {DAY}") for job_id, status in SEEN]
PREFIX = "41508680000053"  # matches two of them
LINES = ["zbulk j", "zbulk job ", "zbulk job show ", f"zbulk job show {PREFIX}"]

SCOPE = history.Scope.of("default", "https://www.zohoapis.com")


def job_commands() -> set[str]:
    return {name for name in job_commands_set.names() if not job_commands_set.build(name).hidden}


def test_job_group_has_the_commands_completion_must_offer() -> None:
    assert {"show", "watch", "results", "recent"} <= job_commands()


# --- the command and the committed scripts ---------------------------------------------


@pytest.mark.parametrize("shell", sorted(FILES))
def test_committed_script_is_the_commands_output(
    shell: str, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["completion", shell]) == 0
    out = capsys.readouterr().out.encode()
    committed = (ROOT / "completions" / FILES[shell]).read_bytes()
    assert out == committed, (
        f"completions/{FILES[shell]} is stale: run python scripts/gen_completions.py"
    )
    assert b"_ZBULK_COMPLETE" in out


@pytest.mark.parametrize("shell", ["tcsh", "powershell", "", "BASH"])
def test_other_shells_are_a_usage_error(
    shell: str, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "is not one of 'bash', 'zsh', 'fish'" in captured.err


def test_help_says_how_to_install(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "--help"]) == 0
    out = capsys.readouterr().out
    for where in (
        "~/.local/share/bash-completion/completions/zbulk",
        "source ~/.zfunc/_zbulk",
        "~/.config/fish/completions/zbulk.fish",
    ):
        assert where in out


def test_a_request_is_answered_in_process(
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What cli.py does when _ZBULK_COMPLETE is set, then one request, without a shell."""
    monkeypatch.setenv("ZBULK_STATE_DIR", str(tmp_path / "state"))
    history.record("4150868000005392002", {"status": "IN PROGRESS"}, SCOPE, now=SEEN_AT)
    completion.enable_requests()
    monkeypatch.setenv("_ZBULK_COMPLETE", "complete_zsh")
    monkeypatch.setenv("_TYPER_COMPLETE_ARGS", "zbulk job show ")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 0
    answer = f"""_arguments '*: :(("4150868000005392002":"IN PROGRESS {DAY}"))'\n"""
    assert capsys.readouterr().out == answer


# --- real shells -------------------------------------------------------------------------


def need(shell: str) -> None:
    if shutil.which(shell) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{shell} is not installed (CI=true: .ci/run installs bash-completion zsh fish)"
            )
        pytest.skip(f"{shell} is not installed")


@pytest.fixture
def shell_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for a shell: the venv's zbulk first on PATH, a private home, config and
    state dir, and a history holding SEEN."""
    state = tmp_path / "state"
    monkeypatch.setenv("ZBULK_STATE_DIR", str(state))
    for n, (job_id, status) in enumerate(SEEN):
        history.record(job_id, {"status": status}, SCOPE, now=SEEN_AT + n)
    assert [job_id for job_id, _ in history.complete_job_ids("")] == NEWEST_FIRST
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ZBULK_", "_ZBULK_", "_TYPER_", "COMP_", "BASH_COMPLETION"))
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', os.defpath)}",
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"),
        XDG_DATA_HOME=str(tmp_path / "home" / ".local" / "share"),
        ZBULK_STATE_DIR=str(state),
        ZBULK_CONFIG_DIR=str(tmp_path / "config"),
        TERM="xterm",
    )
    (tmp_path / "home").mkdir()
    return env


def run_shell(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = TIMEOUT) -> str:
    assert (BIN / "zbulk").exists(), f"install zbulk first (pip install -e .): {BIN / 'zbulk'}"
    proc = subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"{argv[0]} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def by_line(
    out: str, parse: Callable[[str], tuple[str, str]], lines: list[str] = LINES
) -> dict[str, list[tuple[str, str]]]:
    """'--line-- LINE' headers, each followed by its candidates, as {LINE: [(value, help)]}."""
    blocks: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for row in out.splitlines():
        if row.startswith("--line-- "):
            current = blocks.setdefault(row.removeprefix("--line-- "), [])
        elif current is not None and row and not row.startswith("--"):
            current.append(parse(row))
    assert list(blocks) == lines, out
    return blocks


BASH_DRIVER = r"""
# bash drive.bash SCRIPT LINE...: complete each LINE with the function SCRIPT registers
if [[ -r /usr/share/bash-completion/bash_completion ]]; then
    source /usr/share/bash-completion/bash_completion
    declare -F _init_completion > /dev/null && echo "--bash-completion--"
fi
source "$1" || exit 3
shift
spec=$(complete -p zbulk) || exit 4
[[ $spec =~ -F\ ([^ ]+) ]] || exit 5
func=${BASH_REMATCH[1]}
for line; do
    read -ra COMP_WORDS <<< "$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMP_LINE=$line
    COMP_POINT=${#line}
    COMPREPLY=()
    "$func" zbulk "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\n' "--line-- $line" "${COMPREPLY[@]}"
done
"""


def test_bash(shell_env: dict[str, str], tmp_path: Path) -> None:
    need("bash")
    if os.environ.get("CI") == "true":
        assert BASH_COMPLETION.exists(), "bash-completion is not installed"
    driver = tmp_path / "drive.bash"
    driver.write_text(BASH_DRIVER)
    script = str(ROOT / "completions" / "zbulk.bash")
    argv = ["bash", "--norc", "--noprofile", str(driver), script, *LINES]
    out = run_shell(argv, shell_env, tmp_path)
    assert ("--bash-completion--" in out.splitlines()) == BASH_COMPLETION.exists()
    got = by_line(out, lambda row: (row, ""))
    values = {line: [value for value, _ in got[line]] for line in LINES}
    assert values["zbulk j"] == ["job"]
    assert set(values["zbulk job "]) == job_commands()
    assert len(values["zbulk job "]) == len(job_commands())
    assert values["zbulk job show "] == NEWEST_FIRST
    assert values[f"zbulk job show {PREFIX}"] == [i for i in NEWEST_FIRST if i.startswith(PREFIX)]


def test_bash_completion_loads_the_script_from_its_user_dir(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    """The README's bash install: bash-completion finds completions/zbulk on first Tab."""
    need("bash")
    if not BASH_COMPLETION.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("bash-completion is not installed")
        pytest.skip("bash-completion is not installed")
    user_dir = Path(shell_env["XDG_DATA_HOME"]) / "bash-completion" / "completions"
    user_dir.mkdir(parents=True)
    shutil.copyfile(ROOT / "completions" / "zbulk.bash", user_dir / "zbulk")
    script = f"source {BASH_COMPLETION}; __load_completion zbulk && complete -p zbulk"
    out = run_shell(["bash", "--norc", "--noprofile", "-c", script], shell_env, tmp_path)
    assert out.strip() == "complete -o default -F _zbulk_completion zbulk"


def test_fish(shell_env: dict[str, str], tmp_path: Path) -> None:
    need("fish")
    driver = 'source $argv[1]; for l in $argv[2..-1]; echo "--line-- $l"; complete -C "$l"; end'
    script = str(ROOT / "completions" / "zbulk.fish")
    out = run_shell(["fish", "--no-config", "-c", driver, script, *LINES], shell_env, tmp_path)
    got = by_line(out, lambda row: (row.partition("\t")[0], row.partition("\t")[2]))
    # fish sorts candidates itself: compare as sets
    assert got["zbulk j"] == [("job", "Show, follow and diagnose bulk write jobs.")]
    assert {value for value, _ in got["zbulk job "]} == job_commands()
    assert all(help_ for _, help_ in got["zbulk job "])
    assert set(got["zbulk job show "]) == set(DESCRIBED)
    assert set(got[f"zbulk job show {PREFIX}"]) == {s for s in DESCRIBED if s[0].startswith(PREFIX)}


# Sourced in an interactive `zsh -f` on a pty: compinit, the script, and a compadd wrapper
# that appends each candidate (value TAB display string) to $ZC_OUT, then "--done--".
ZSH_SETUP = r"""
PS1='' RPS1='' PROMPT=''
unsetopt beep
bindkey -e
autoload -Uz compinit && compinit -u -D
source $ZC_SCRIPT
zstyle ':completion:*' insert-tab false
compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "$@"
    return
  fi
  local -a __hits __dscr
  local __i
  if (( $@[(I)-d] )); then
    __i=${@[$(( ${@[(i)-d]} + 1 ))]}
    if [[ $__i == \(* ]]; then eval "__dscr=$__i"; else __dscr=( "${(@P)__i}" ); fi
  fi
  builtin compadd -A __hits -D __dscr "$@"
  for __i in {1..$#__hits}; do
    print -r -- "$__hits[__i]"$'\t'"$__dscr[__i]" >> $ZC_OUT
  done
  builtin compadd "$@"
}
_zc_done() { print -r -- '--done--' >> $ZC_OUT }
_zc_tab() { comppostfuncs=(_zc_done); zle complete-word }
zle -N _zc_tab
bindkey '^I' _zc_tab
print -r -- '--ready--' >> $ZC_OUT
"""

# zsh -f harness.zsh SETUP OUT LINE...: type each LINE and Tab into an interactive zsh on a
# pty (zsh/zpty), waiting at most 4 s for each answer; the pty's output goes to OUT.tty.
ZSH_HARNESS = r"""
zmodload zsh/zpty zsh/zselect || exit 3
setup=$1 out=$2; shift 2
_wait() {  # until $out has $1 lines equal to $2, draining the pty meanwhile
  repeat 400; do
    while zpty -rt z __chunk "*"; do print -rn -- "$__chunk" >> $out.tty; done
    (( ${#${(@M)${(f)"$(<$out)"}:#$2}} >= $1 )) && return 0
    zselect -t 1
  done
  print -u2 "timed out waiting for $2"
  exit 4
}
: > $out
zpty z zsh -f -i
zpty -w z "source ${(q)setup}"
_wait 1 --ready--
integer k=0
for line; do
  print -r -- "--line-- $line" >> $out
  zpty -n -w z "$line"$'\t'
  _wait $(( ++k )) --done--
  zpty -n -w z $'\C-u'
done
zpty -d z
"""


def test_zsh(shell_env: dict[str, str], tmp_path: Path) -> None:
    need("zsh")
    setup, harness, out = tmp_path / "setup.zsh", tmp_path / "harness.zsh", tmp_path / "out"
    setup.write_text(ZSH_SETUP)
    harness.write_text(ZSH_HARNESS)
    env = {**shell_env, "ZC_SCRIPT": str(ROOT / "completions" / "_zbulk"), "ZC_OUT": str(out)}
    run_shell(["zsh", "-f", str(harness), str(setup), str(out), *LINES], env, tmp_path)

    def parse(row: str) -> tuple[str, str]:
        value, _, display = row.partition("\t")
        return value, display.removeprefix(value).strip().removeprefix("--").strip()

    got = by_line(out.read_text(), parse)
    assert got["zbulk j"] == [("job", "Show, follow and diagnose bulk write jobs.")]
    assert {value for value, _ in got["zbulk job "]} == job_commands()
    assert all(help_ for _, help_ in got["zbulk job "])
    assert set(got["zbulk job show "]) == set(DESCRIBED)
    assert set(got[f"zbulk job show {PREFIX}"]) == {s for s in DESCRIBED if s[0].startswith(PREFIX)}


# --- option values and files: --dc, --profile, config keys, modules, FILE ------------------
VALUE_LINES = [
    "zbulk auth login --dc e",
    "zbulk --profile ",
    "zbulk config get api_v",
    "zbulk config unset data_centres.l",
    "zbulk job import leads.csv --module Lea",
    "zbulk job import lea",
]
# A shell process per test completes every line, each one or two zbulk processes: a guard
# against a hang, not a speed test (a loaded machine can take seconds per line).
VALUE_TIMEOUT = 3 * TIMEOUT


@pytest.fixture
def value_env(shell_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    config_dir = Path(shell_env["ZBULK_CONFIG_DIR"])
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text(
        '[profiles.acme]\napi_version = "v8"\n\n'
        '[data_centres.lab]\naccounts = "https://accounts.lab.example"\n'
        'api_domain = "https://api.lab.example"\n'
    )
    (tmp_path / "leads.csv").write_text("Last_Name\nSmith\n")
    return shell_env


def _check_values(got: dict[str, list[tuple[str, str]]], *, files: bool) -> None:
    values = {line: {value for value, _ in got[line]} for line in VALUE_LINES}
    assert values["zbulk auth login --dc e"] == {"eu"}
    assert values["zbulk --profile "] == {"acme", "default"}
    assert values["zbulk config get api_v"] == {"api_version"}
    lab = {f"data_centres.lab.{setting}" for setting in ("accounts", "api_domain", "upload")}
    assert values["zbulk config unset data_centres.l"] == lab
    assert values["zbulk job import leads.csv --module Lea"] == {"Leads"}
    # A file argument: the shell's own file completion (bash: none from zbulk, so that
    # `complete -o default` completes paths).
    assert values["zbulk job import lea"] == ({"leads.csv"} if files else set())


def test_bash_completes_option_values(value_env: dict[str, str], tmp_path: Path) -> None:
    need("bash")
    driver = tmp_path / "drive.bash"
    driver.write_text(BASH_DRIVER)
    script = str(ROOT / "completions" / "zbulk.bash")
    out = run_shell(
        ["bash", "--norc", "--noprofile", str(driver), script, *VALUE_LINES],
        value_env,
        tmp_path,
        VALUE_TIMEOUT,
    )
    _check_values(by_line(out, lambda row: (row, ""), VALUE_LINES), files=False)


def test_fish_completes_option_values(value_env: dict[str, str], tmp_path: Path) -> None:
    need("fish")
    driver = 'source $argv[1]; for l in $argv[2..-1]; echo "--line-- $l"; complete -C "$l"; end'
    script = str(ROOT / "completions" / "zbulk.fish")
    out = run_shell(
        ["fish", "--no-config", "-c", driver, script, *VALUE_LINES],
        value_env,
        tmp_path,
        VALUE_TIMEOUT,
    )
    got = by_line(out, lambda row: (row.partition("\t")[0], row.partition("\t")[2]), VALUE_LINES)
    _check_values(got, files=True)
    assert dict(got["zbulk auth login --dc e"])["eu"] == "https://www.zohoapis.eu"


def test_zsh_completes_option_values(value_env: dict[str, str], tmp_path: Path) -> None:
    need("zsh")
    setup, harness, out = tmp_path / "setup.zsh", tmp_path / "harness.zsh", tmp_path / "out"
    setup.write_text(ZSH_SETUP)
    harness.write_text(ZSH_HARNESS)
    env = {**value_env, "ZC_SCRIPT": str(ROOT / "completions" / "_zbulk"), "ZC_OUT": str(out)}
    run_shell(
        ["zsh", "-f", str(harness), str(setup), str(out), *VALUE_LINES],
        env,
        tmp_path,
        VALUE_TIMEOUT,
    )

    def parse(row: str) -> tuple[str, str]:
        value, _, display = row.partition("\t")
        return value, display.removeprefix(value).strip().removeprefix("--").strip()

    _check_values(by_line(out.read_text(), parse, VALUE_LINES), files=True)


def test_modules_complete_from_the_metadata_cache(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from zbulk.commands.options import complete_modules

    assert "Leads" in complete_modules("")  # nothing cached: the standard modules
    state = tmp_path / "state"
    monkeypatch.setenv("ZBULK_STATE_DIR", str(state))
    (state / "metadata").mkdir(parents=True)
    doc = {
        "version": 1,
        "key": "123 https://www.zohoapis.com modules",
        "fetched": 0,
        "data": [
            {"api_name": "Leads", "creatable": True},
            {"api_name": "Custom_Widgets", "creatable": True},
            {"api_name": "Visits", "creatable": False},
        ],
    }
    (state / "metadata" / "abc.json").write_text(json.dumps(doc))
    assert complete_modules("") == ["Leads", "Custom_Widgets"]
    assert complete_modules("Cu") == ["Custom_Widgets"]


# --- a server's statuses never reach a shell as code (issue 22, Why 1) -------------------

# Each would run `touch F` (or break the quoting around what follows) if a shell evaluated
# it: zsh's _arguments evaluates the descriptions it is given.
HOSTILE = ["$(touch F)", "<(touch F)\\", "`touch F`", "X\\", "\n", "'", '"']
HOSTILE_IDS = [f"415086800000900000{n}" for n in range(1, len(HOSTILE) + 1)]
HOSTILE_PREFIX = "41508680000090000"
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78M])")


@pytest.fixture
def hostile_env(
    shell_env: dict[str, str], sandbox: Sandbox, zbulk: Callable[..., Any], tmp_path: Path
) -> dict[str, str]:
    """SEEN, plus the HOSTILE statuses recorded the way a user records them: one
    `zbulk job show --brief` of jobs a server answers with them."""
    for job_id, status in zip(HOSTILE_IDS, HOSTILE, strict=True):
        sandbox.put_document(job_id, {"id": job_id, "status": status, "operation": "insert"})
    r = zbulk("job", "show", "--brief", *HOSTILE_IDS, ZBULK_STATE_DIR=shell_env["ZBULK_STATE_DIR"])
    assert r.code == 0, r.err
    assert "$(touch F)" in r.out  # job show shows what was sent (sanitised)
    offered = dict(history.complete_job_ids(HOSTILE_PREFIX))
    assert list(offered) == list(reversed(HOSTILE_IDS)) or set(offered) == set(HOSTILE_IDS)
    return shell_env


def no_f(tmp_path: Path) -> None:
    made = [p for p in (tmp_path / "F", tmp_path / "home" / "F", Path.cwd() / "F") if p.exists()]
    assert not made, f"a shell ran the server's command: {made}"


def drive(
    argv: list[str], env: dict[str, str], cwd: Path, lines: list[str], done: Callable[[str], bool]
) -> str:
    """An interactive shell on a pseudo-terminal: type the first of ``lines`` (it must
    print READY), then the others (Tab as ``\\t``) a moment apart, reading until
    ``done(all output, escapes removed)``; then Ctrl-C and exit."""
    import pty
    import select
    import time

    import procs

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=cwd,
        preexec_fn=procs.terminal_session,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def read_until(pred: Callable[[str], bool], seconds: float) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            text = ANSI.sub("", b"".join(chunks).decode(errors="replace")).replace("\r", "")
            if pred(text):
                return text
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunks.append(os.read(master, 65536))
                except OSError:
                    break
        text = ANSI.sub("", b"".join(chunks).decode(errors="replace")).replace("\r", "")
        raise AssertionError(f"{argv[0]}: timed out; the terminal showed:\n{text[-3000:]}")

    try:
        os.write(master, lines[0].encode())
        read_until(lambda t: "READY" in t, TIMEOUT)
        for line in lines[1:-1]:
            os.write(master, line.encode())
            time.sleep(1.0)  # the shell has run zbulk for this Tab
        os.write(master, lines[-1].encode())
        return read_until(done, TIMEOUT)
    finally:
        with contextlib.suppress(OSError):
            os.write(master, b"\x03exit\r")
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(master)


def offers_all(text: str) -> bool:
    """Every id offered, after what was typed (fish's pager writes the common part as …)."""
    shown = text.split("READY")[-1]
    return all(job_id[len(HOSTILE_PREFIX) - 2 :] in shown for job_id in HOSTILE_IDS)


def test_bash_tab_never_runs_a_servers_status(hostile_env: dict[str, str], tmp_path: Path) -> None:
    need("bash")
    script = ROOT / "completions" / "zbulk.bash"
    env = {**hostile_env, "PS1": "$ "}
    lines = [f"source {script}; echo RE''ADY\r", f"zbulk job show {HOSTILE_PREFIX}\t", "\t", "\t"]
    text = drive(["bash", "--norc", "--noprofile", "-i"], env, tmp_path, lines, offers_all)
    assert "touch" not in text.split("READY")[-1]
    no_f(tmp_path)


def test_fish_tab_never_runs_a_servers_status(hostile_env: dict[str, str], tmp_path: Path) -> None:
    need("fish")
    script = ROOT / "completions" / "zbulk.fish"
    lines = [f"source {script}; echo RE''ADY\r", f"zbulk job show {HOSTILE_PREFIX}\t"]

    def done(text: str) -> bool:
        return offers_all(text) and text.count("UNKNOWN") >= len(HOSTILE_IDS)

    text = drive(["fish", "--no-config", "-i"], hostile_env, tmp_path, lines, done)
    shown = text.split("READY")[-1]
    assert "touch" not in shown and re.search(r"UNKNOWN \d{4}-\d\d-\d\d", shown), shown
    no_f(tmp_path)


def test_zsh_tab_never_runs_a_servers_status(hostile_env: dict[str, str], tmp_path: Path) -> None:
    """zsh evaluates _arguments' descriptions: with the server's text there, `touch F` ran
    on every Tab."""
    need("zsh")
    setup, harness, out = tmp_path / "setup.zsh", tmp_path / "harness.zsh", tmp_path / "out"
    setup.write_text(ZSH_SETUP)
    harness.write_text(ZSH_HARNESS)
    env = {**hostile_env, "ZC_SCRIPT": str(ROOT / "completions" / "_zbulk"), "ZC_OUT": str(out)}
    line = f"zbulk job show {HOSTILE_PREFIX}"
    run_shell(["zsh", "-f", str(harness), str(setup), str(out), line], env, tmp_path)
    rows = [r.split("\t") for r in out.read_text().splitlines() if r and not r.startswith("--")]
    assert sorted(value for value, _ in rows) == sorted(HOSTILE_IDS)
    for value, display in rows:
        description = display.removeprefix(value).strip().removeprefix("--").strip()
        assert re.fullmatch(r"UNKNOWN \d{4}-\d\d-\d\d", description), display
    no_f(tmp_path)
