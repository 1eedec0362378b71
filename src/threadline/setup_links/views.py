"""The setup page's HTML: server-rendered, themed by the link, a little JavaScript."""

from __future__ import annotations

import html
import json

from threadline.config import SANDBOX_IDENTITY, Settings
from threadline.models import SetupLink
from threadline.setup_links import service
from threadline.setup_links.schemas import DEFAULT_THEME

_FACEBOOK = "https://www.facebook.com"
_LABELS = {
    "dedicated": "Dedicated: API only (up to 1000 messages per second)",
    "coexistence": "Coexistence: keep using the WhatsApp Business app (5 messages per second)",
}


def _css(theme: dict[str, str]) -> str:
    variables = ";".join(f"--{name.replace('_', '-')}:{value}" for name, value in theme.items())
    return (
        f":root{{{variables}}}"
        "body{font-family:system-ui,sans-serif;background:var(--background-color);"
        "color:var(--text-color);margin:0}"
        "main{max-width:32rem;margin:3rem auto;padding:2rem;background:var(--card-color);"
        "border:1px solid var(--border-color);border-radius:.75rem}"
        "p.muted{color:var(--muted-text-color)}"
        "button{background:var(--primary-color);color:var(--primary-foreground-color);"
        "border:0;border-radius:.5rem;padding:.6rem 1.2rem;font-size:1rem;cursor:pointer}"
        "button.secondary{background:var(--secondary-color);"
        "color:var(--secondary-foreground-color)}"
        ".error{background:var(--destructive-color);color:var(--destructive-foreground-color);"
        "padding:.5rem;border-radius:.5rem}"
        "section{margin-top:1.5rem;padding-top:1rem;border-top:1px solid var(--border-color)}"
    )


def document(title: str, body: str, theme: dict[str, str] | None = None) -> str:
    """A whole page."""
    style = _css(theme or dict(DEFAULT_THEME))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{style}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def message(title: str, text: str, *, error: bool = False) -> str:
    """A page that only says something (a link gone, a setup done)."""
    css = " class='error'" if error else ""
    return document(title, f"<p id='message'{css}>{html.escape(text)}</p>")


def setup_page(
    link: SetupLink, token: str, settings: Settings, *, sandbox: bool, meta: bool
) -> str:
    """The page a link opens: a sandbox button and/or Facebook's embedded signup."""
    parts = ["<p class='muted'>Connect a WhatsApp number to start messaging.</p>"]
    if sandbox:
        parts.append(_sandbox_section(token))
    if meta:
        parts.append(_meta_section(link, token, settings))
    if not (sandbox or meta):
        parts.append("<p class='error'>This server offers no way to connect a number.</p>")
    return document("Connect WhatsApp", "".join(parts), service.theme_of(link))


def _sandbox_section(token: str) -> str:
    action = html.escape(f"{service.PAGE_PATH}/{token}/sandbox")
    return (
        "<section><h2>Try it on the sandbox</h2>"
        "<p class='muted'>A test number, no Meta account needed.</p>"
        f"<form method='post' action='{action}'>"
        "<button id='connect-sandbox' type='submit'>Connect a sandbox number</button>"
        "</form></section>"
    )


def _meta_section(link: SetupLink, token: str, settings: Settings) -> str:
    action = html.escape(f"{service.PAGE_PATH}/{token}/embedded_signup")
    types = link.allowed_connection_types
    choices = "".join(
        f"<label><input type='radio' name='connection_type' value='{kind}'"
        f"{' checked' if index == 0 else ''}> {html.escape(_LABELS[kind])}</label><br>"
        for index, kind in enumerate(types)
    )
    fixed = f"<input type='hidden' name='connection_type' value='{html.escape(types[0])}'>"
    chooser = choices if len(types) > 1 else fixed
    config = _signup_config(settings)
    return (
        "<section><h2>Connect your business number</h2>"
        f"<form id='signup' method='post' action='{action}'>{chooser}"
        "<input type='hidden' name='code'></form>"
        "<button id='connect-meta' class='secondary' type='button'>Continue with Facebook"
        "</button><p id='signup-status' class='muted'></p></section>"
        f"<script>const SIGNUP = {config};</script><script>{_SIGNUP_SCRIPT}</script>"
    )


def _signup_config(settings: Settings) -> str:
    version = SANDBOX_IDENTITY.api_version
    dialog = settings.signup_dialog_url.rstrip("/")
    config = {
        "appId": settings.meta_app_id,
        "configId": settings.meta_signup_config_id or "",
        "version": version,
        "facebook": dialog == _FACEBOOK,
        "dialog": f"{dialog}/{version}/dialog/oauth",
    }
    return json.dumps(config).replace("<", "\\u003c")


# Facebook's own SDK on Meta; on an emulator, its popup and the code it posts back.
_SIGNUP_SCRIPT = """
const form = document.getElementById("signup");
const status = document.getElementById("signup-status");
function submitCode(code) {
  form.elements.code.value = code;
  status.textContent = "Connecting...";
  form.submit();
}
function featureType() {
  const kind = form.elements.connection_type.value;
  return kind === "coexistence" ? "whatsapp_business_app_onboarding" : "";
}
window.addEventListener("message", (event) => {
  if (event.origin !== new URL(SIGNUP.dialog).origin) return;
  const data = event.data || {};
  if (data.type === "WA_EMBEDDED_SIGNUP_CODE" && data.code) submitCode(data.code);
  if (data.type === "WA_EMBEDDED_SIGNUP" && data.event === "CANCEL") {
    status.textContent = "Signup cancelled.";
  }
});
document.getElementById("connect-meta").onclick = () => {
  const extras = {setup: {}, featureType: featureType(), sessionInfoVersion: "3"};
  if (SIGNUP.facebook) {
    FB.login((response) => {
      const code = response.authResponse && response.authResponse.code;
      if (code) submitCode(code);
      else status.textContent = "Signup cancelled.";
    }, {config_id: SIGNUP.configId, response_type: "code",
        override_default_response_type: true, extras: extras});
    return;
  }
  const query = new URLSearchParams({client_id: SIGNUP.appId, config_id: SIGNUP.configId,
    response_type: "code", override_default_response_type: "true", display: "popup",
    extras: JSON.stringify(extras)});
  window.open(SIGNUP.dialog + "?" + query, "embedded_signup", "width=600,height=700");
};
if (SIGNUP.facebook) {
  window.fbAsyncInit = () => FB.init({appId: SIGNUP.appId, autoLogAppEvents: true,
    xfbml: true, version: SIGNUP.version});
  const sdk = document.createElement("script");
  sdk.src = "https://connect.facebook.net/en_US/sdk.js";
  sdk.async = true;
  sdk.crossOrigin = "anonymous";
  document.head.appendChild(sdk);
}
"""
