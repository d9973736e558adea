"""``zbulk auth …``: log in, inspect, print and remove credentials."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated

import typer

from zbulk.commands import Commands
from zbulk.commands.options import JsonFlag, complete_data_centres

if TYPE_CHECKING:
    from zbulk.auth.oauth import DeviceCode
    from zbulk.context import AppContext
    from zbulk.datacentres import DataCentre
    from zbulk.http import Http
    from zbulk.output import Output

HELP = "Log in to Zoho and manage stored credentials."
commands = Commands()

MODES = {"1": "token", "2": "self_client", "3": "device"}


def _ctx(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj


def _ask(out: Output, label: str, *, hidden: bool, env_name: str | None = None) -> str:
    """A value from the environment, else a prompt on the terminal, else a usage error."""
    import os

    from zbulk.errors import UsageError

    if env_name and os.environ.get(env_name):
        return os.environ[env_name].strip()
    if not out.can_ask:
        via = f" or set {env_name}" if env_name else ""
        raise UsageError(f"{label} is needed and there is no terminal to ask on: pass it{via}")
    return out.ask(label, hidden=hidden)


@commands.command("login")
def login(
    ctx: typer.Context,
    with_token: Annotated[
        bool, typer.Option("--with-token", help="Read an access token from standard input.")
    ] = False,
    self_client: Annotated[
        bool,
        typer.Option(
            "--self-client",
            help="Exchange a Self Client grant code (made with the scopes above); "
            "tokens then refresh themselves.",
        ),
    ] = False,
    device: Annotated[
        bool, typer.Option("--device", help="Log in on another device with a short code.")
    ] = False,
    dc: Annotated[
        str | None,
        typer.Option(
            "--dc",
            metavar="DC",
            autocompletion=complete_data_centres,
            help="Data centre: us, eu, in, au, jp, ca, sa, uk, cn, or a URL serving both "
            "accounts and API (a sandbox). [default: the profile's, else us]",
            show_default=False,
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            metavar="ID",
            help="OAuth client id. [env: ZBULK_CLIENT_ID]",
            show_default=False,
        ),
    ] = None,
    code: Annotated[
        str | None,
        typer.Option(
            "--code",
            metavar="CODE",
            help="Self Client grant code (asked if absent).",
            show_default=False,
        ),
    ] = None,
    insecure_storage: Annotated[
        bool,
        typer.Option(
            "--insecure-storage",
            help="Keep the secrets in a file only you can read instead of the keyring.",
        ),
    ] = False,
) -> int:
    """Store and verify credentials for a profile (client secret via ZBULK_CLIENT_SECRET or
    a prompt). Nothing is stored until one API request with the new token succeeds.

    \b
    Scopes to log in with (--device asks for them; give them to a Self Client's code):
      ZohoCRM.bulk.ALL,ZohoCRM.modules.ALL,ZohoFiles.files.ALL,ZohoCRM.org.READ

    ZohoCRM.bulk.ALL (or .CREATE) shows, watches and reads jobs; job import and retry also
    need ZohoCRM.modules.ALL (or ZohoCRM.modules.<module>.CREATE), ZohoFiles.files.ALL (the
    upload) and ZohoCRM.org.READ (the org id). ZohoCRM.bulk.READ is not enough."""
    import os

    from zbulk import config, datacentres
    from zbulk.auth import oauth, profiles
    from zbulk.auth.model import LoginMode
    from zbulk.auth.tokens import TOKEN_ENV, clean_token
    from zbulk.errors import UsageError

    app_ctx = _ctx(ctx)
    out = app_ctx.output
    env = os.environ
    profile = app_ctx.profile_name
    chosen = [
        m
        for m, on in (
            (LoginMode.TOKEN, with_token),
            (LoginMode.SELF_CLIENT, self_client),
            (LoginMode.DEVICE, device),
        )
        if on
    ]
    if len(chosen) > 1:
        raise UsageError("choose one of --with-token, --self-client and --device")
    if chosen:
        mode = chosen[0]
    elif out.can_ask:
        out.note(
            "How do you want to log in?\n  1. paste an access token\n"
            "  2. Self Client grant code (refreshes itself)\n"
            "  3. device code, approved in a browser elsewhere"
        )
        picked = MODES.get(out.ask("Choice", default="2"))
        if picked is None:
            raise UsageError("answer 1, 2 or 3")
        mode = LoginMode(picked)
    else:
        raise UsageError("no terminal to ask on: choose --with-token, --self-client or --device")
    if mode is LoginMode.TOKEN and with_token and out.can_ask:
        raise UsageError(
            "--with-token reads the token from standard input, which is a terminal",
            hint='pipe it in (`echo "$TOKEN" | zbulk auth login --with-token`), or run '
            "`zbulk auth login` to be asked for it",
        )
    # The config file is read (and its layout checked) before anything is asked or stored.
    known = datacentres.overrides(env)
    previous = _previous_dc(profile, env)
    centre = datacentres.data_centre(str(dc or previous or datacentres.DEFAULT_DC), known)
    gate = app_ctx.accounts_gate(centre.api_domain, known)
    problem = gate.problem(centre.accounts) if mode is not LoginMode.TOKEN else None
    if problem:  # before anything is asked for
        raise gate.refused(centre.accounts, problem)
    if env.get(TOKEN_ENV) is not None:
        out.warn(f"{TOKEN_ENV} is set: it wins over this login until you unset it")
    if insecure_storage:
        out.warn(
            "--insecure-storage: the secrets go into a file readable only by you, "
            "not into the keyring"
        )
    directory = config.config_dir(env)
    if insecure_storage:
        from zbulk.files import private_dir

        private_dir(directory / "secrets")  # a file in the way shows itself now
    store = profiles.pick_store(profile, insecure=insecure_storage, directory=directory)
    api_domain = _api_domain(app_ctx)  # what later commands will use, if not the DC's
    http = app_ctx.http()
    verify = profiles.verifier(functools.partial(_lookup, app_ctx, http))

    if mode is LoginMode.TOKEN:
        raw = out.read_input() if with_token else _ask(out, "Access token", hidden=True)
        token = clean_token(raw, "standard input" if with_token else "the prompt")
        result = profiles.login_with_token(
            profile=profile,
            token=token,
            dc=centre,
            store=store,
            verify=verify,
            env=env,
            api_domain=api_domain,
        )
        expiry = "Zoho access tokens last an hour; use --self-client for a login that lasts"
    else:
        cid = client_id or _ask(out, "Client id", hidden=False, env_name="ZBULK_CLIENT_ID")
        secret = _ask(out, "Client secret", hidden=True, env_name="ZBULK_CLIENT_SECRET")
        app = oauth.OAuthApp(centre.accounts, cid, secret)
        post = http.form_poster(gate)
        if mode is LoginMode.SELF_CLIENT:
            if not code:
                out.note(
                    "Generate the code in Zoho's API console (Self Client > Generate "
                    f"Code) with the scopes job import needs:\n  {oauth.SCOPE}"
                )
            grant = code or _ask(out, "Grant code", hidden=True)
            result = profiles.login_self_client(
                profile=profile,
                dc=centre,
                app=app,
                code=grant.strip(),
                store=store,
                post=post,
                verify=verify,
                env=env,
                api_domain=api_domain,
            )
        else:
            result = profiles.login_device(
                profile=profile,
                dc=centre,
                app=app,
                store=store,
                post=post,
                verify=verify,
                show_code=lambda c: _show_code(out, c),
                on_switch=lambda d: _switched(out, d),
                env=env,
                api_domain=api_domain,
            )
        expiry = "access tokens now refresh themselves"
    out.note(
        f"Logged in: profile {profile!r}, data centre {result.record.dc}, verified with "
        f"{result.record.api_domain}; secrets in {result.stored_in}; {expiry}."
    )
    return 0


def _previous_dc(profile: str, env: object) -> str | None:
    """The data centre of the profile's current login, if any (a re-login keeps it)."""
    from zbulk.auth import state
    from zbulk.errors import CredentialsError

    try:
        record = state.load(profile)
    except CredentialsError:
        return None
    return record.dc if record else None


def _api_domain(app_ctx: AppContext) -> str | None:
    """The API domain later commands will use, when it is not the data centre's:
    --api-domain, ZBULK_API_DOMAIN, the profile's ``api_domain`` in config.toml; checked."""
    import os

    from zbulk import config

    profile = app_ctx.profile_name
    for value, origin in (
        (app_ctx.api_domain, "--api-domain"),
        (os.environ.get("ZBULK_API_DOMAIN"), "environment ZBULK_API_DOMAIN"),
        (
            config.load_profile(profile).get("api_domain"),
            f"profile {profile!r} in {config.config_path()}",
        ),
    ):
        if value not in (None, ""):
            return config.check_api_domain(str(value), origin)
    return None


def _lookup(app_ctx: AppContext, http: Http, *, token: str, api_domain: str) -> None:
    """One lookup of job ``VERIFY_JOB_ID`` at ``api_domain`` with ``token``."""
    from zbulk import config
    from zbulk.auth.profiles import VERIFY_JOB_ID
    from zbulk.auth.tokens import StaticToken
    from zbulk.client import ZohoClient

    settings = config.Settings(
        profile=app_ctx.profile_name,
        api_domain=config.check_api_domain(api_domain),
        api_version=config.check_api_version(_api_version(app_ctx) or config.DEFAULT_API_VERSION),
        request_timeout=http.request_timeout,
    )
    client = ZohoClient(settings, StaticToken(token, "the new login"), http=http)
    client.get_job(VERIFY_JOB_ID)


def _api_version(app_ctx: AppContext) -> str | None:
    import os

    from zbulk import config

    return (
        app_ctx.api_version
        or os.environ.get("ZBULK_API_VERSION")
        or config.load_profile(app_ctx.profile_name).get("api_version")
    )


def _show_code(out: Output, code: DeviceCode) -> None:
    out.note(
        f"Open {code.verification_url} and enter the code {code.user_code} "
        f"(valid {code.expires_in / 60:.0f} minutes). Waiting…"
    )


def _switched(out: Output, dc: DataCentre) -> None:
    out.note(f"Your account is in data centre {dc.name}; continuing there.")


@commands.command("status")
def status(
    ctx: typer.Context,
    as_json: JsonFlag = False,
) -> int:
    """Show each profile's data centre, API domain, credential and expiry (never a secret).
    The profile in use is always shown, logged in or not."""
    import os

    from zbulk.auth import profiles
    from zbulk.errors import ExitCode
    from zbulk.reports import AuthStatusReport

    app_ctx = _ctx(ctx)
    active = app_ctx.profile_name
    entries = profiles.status(active=active, env=os.environ)
    app_ctx.output.emit(AuthStatusReport([e.as_json() for e in entries], active), as_json=as_json)
    usable = any(e.active and e.usable for e in entries)
    return ExitCode.OK if usable else ExitCode.CREDENTIALS


@commands.command("token")
def token(ctx: typer.Context) -> int:
    """Print a valid access token (refreshed if needed), e.g. for curl."""
    app_ctx = _ctx(ctx)
    app_ctx.output.write_line(app_ctx.tokens().access_token())
    return 0


@commands.command("logout")
def logout(
    ctx: typer.Context,
    all_profiles: Annotated[bool, typer.Option("--all", help="Every profile.")] = False,
    revoke: Annotated[
        bool,
        typer.Option("--revoke", help="Also revoke the refresh token at Zoho."),
    ] = False,
) -> int:
    """Remove the profile's stored secrets and login record."""
    import os

    from zbulk.auth import profiles

    app_ctx = _ctx(ctx)
    out = app_ctx.output
    names = profiles.logged_in_profiles() if all_profiles else [app_ctx.profile_name]
    if not names:
        out.note("No profile is logged in.")
    post = None
    if revoke:
        post = app_ctx.refresh_poster()
    for result in profiles.logout(names, revoke=revoke, post=post):
        name = result.profile
        if result.revoked:
            out.note(f"Revoked the refresh token of profile {name!r} at Zoho.")
        elif result.note:
            out.note(f"Profile {name!r}: {result.note}.")
        out.note(
            f"Logged out profile {name!r}."
            if result.had_secrets
            else f"Profile {name!r} had no stored secrets."
        )
    if os.environ.get("ZBULK_TOKEN") is not None:
        out.warn("ZBULK_TOKEN is still set in this environment")
    return 0
