//! The sign-in's pages, rendered with maud (every interpolation escaped; no script): the login
//! form in the tenant's branding, an error page, and the signed-out page. Each page stands
//! alone (its styles in one nonced block), works without JavaScript and is labelled for
//! assistive technology (`lang`, a label per field, an alert for errors, contrast ≥ 4.5:1).

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::{Map, Value};
use shared::hierarchy::Tenant;

/// How a tenant's pages look: its `branding` (`display_name`, `primary_color` and
/// `background_color` as `#rrggbb`, `logo_url` over https), each falling back to ours when
/// absent or not of that form.
pub struct Branding {
    pub name: String,
    pub primary: (u8, u8, u8),
    pub background: (u8, u8, u8),
    pub logo_url: Option<String>,
}

impl Branding {
    pub fn of(tenant: &Tenant) -> Self {
        Self::from_settings(&tenant.name, &tenant.branding)
    }

    /// Ours (the error page of a request no tenant answers).
    pub fn plain() -> Self {
        Self::from_settings("ScaiKey", &Map::new())
    }

    fn from_settings(fallback_name: &str, branding: &Map<String, Value>) -> Self {
        let text = |key: &str| branding.get(key).and_then(Value::as_str);
        Self {
            name: text("display_name")
                .filter(|n| !n.trim().is_empty())
                .map(|n| n.chars().take(120).collect())
                .unwrap_or_else(|| fallback_name.to_owned()),
            primary: text("primary_color")
                .and_then(parse_hex)
                .unwrap_or((0x1d, 0x4e, 0xd8)),
            background: text("background_color")
                .and_then(parse_hex)
                .unwrap_or((0xf5, 0xf7, 0xfa)),
            logo_url: text("logo_url")
                .filter(|u| u.starts_with("https://") && u.len() <= 2048)
                .map(str::to_owned),
        }
    }

    /// The page's styles: the branding's colours, with text colours chosen for contrast.
    fn styles(&self) -> String {
        let hex = |(r, g, b): (u8, u8, u8)| format!("#{r:02x}{g:02x}{b:02x}");
        let on_primary = readable_on(self.primary);
        let on_background = readable_on(self.background);
        // The primary colour as the link colour only where it reads on the page's background.
        let link = if contrast(self.primary, self.background) >= 4.5 {
            hex(self.primary)
        } else {
            hex(on_background)
        };
        format!(
            "body{{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
             background:{bg};color:{fg};}}\
             main{{max-width:26rem;margin:4rem auto;padding:2rem;background:#ffffff;\
             color:#1f2933;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);}}\
             h1{{font-size:1.5rem;margin:0 0 1.5rem;}}\
             img{{max-height:3rem;max-width:100%;margin-bottom:1rem;}}\
             label{{display:block;font-weight:600;margin:1rem 0 .25rem;}}\
             input{{box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;\
             border:1px solid #52606d;border-radius:4px;color:#1f2933;background:#ffffff;}}\
             input:focus,button:focus{{outline:3px solid {link};outline-offset:2px;}}\
             button{{margin-top:1.5rem;width:100%;padding:.75rem;font-size:1rem;font-weight:600;\
             border:0;border-radius:4px;background:{primary};color:{on_primary};cursor:pointer;}}\
             .error{{background:#fde8e8;color:#8a1c1c;border:1px solid #8a1c1c;\
             border-radius:4px;padding:.75rem;margin-bottom:1rem;}}\
             p{{line-height:1.5;}}\
             fieldset{{border:0;padding:0;margin:0;}}legend{{font-weight:600;}}\
             .choice{{margin:.75rem 0;}}.choice input{{width:auto;margin-right:.5rem;}}\
             .choice label{{display:inline;font-weight:400;}}",
            bg = hex(self.background),
            fg = hex(on_background),
            primary = hex(self.primary),
            on_primary = hex(on_primary),
        )
    }
}

fn parse_hex(text: &str) -> Option<(u8, u8, u8)> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some((byte(0)?, byte(2)?, byte(4)?))
}

/// WCAG 2 relative luminance.
fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG 2 contrast ratio of two colours (1 to 21).
fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Black or white, whichever reads better on `background`.
fn readable_on(background: (u8, u8, u8)) -> (u8, u8, u8) {
    if contrast((0, 0, 0), background) >= contrast((255, 255, 255), background) {
        (0, 0, 0)
    } else {
        (255, 255, 255)
    }
}

fn layout(branding: &Branding, nonce: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " — " (branding.name) }
                style nonce=(nonce) { (PreEscaped(branding.styles())) }
            }
            body {
                main {
                    @if let Some(logo) = &branding.logo_url {
                        img src=(logo) alt=(format!("{} logo", branding.name));
                    }
                    (body)
                }
            }
        }
    }
}

/// The login form. `flow` is the signed authorization request the form posts back;
/// `error` the one message every failed attempt shows.
pub fn login(
    branding: &Branding,
    nonce: &str,
    action: &str,
    flow: &str,
    email: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let title = format!("Sign in to {}", branding.name);
    layout(
        branding,
        nonce,
        "Sign in",
        html! {
            h1 { (title) }
            @if let Some(error) = error {
                div class="error" role="alert" id="error" { (error) }
            }
            form method="post" action=(action) {
                input type="hidden" name="flow" value=(flow);
                label for="email" { "Email address" }
                input id="email" name="email" type="email" autocomplete="username" required
                    value=[email] aria-describedby=[error.map(|_| "error")];
                label for="password" { "Password" }
                input id="password" name="password" type="password"
                    autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// The platform login's first step: the email alone (the password comes next, on the same
/// form whatever the email: nothing here says whether an account exists).
pub fn email_step(
    branding: &Branding,
    nonce: &str,
    action: &str,
    flow: &str,
    email: Option<&str>,
) -> Markup {
    layout(
        branding,
        nonce,
        "Sign in",
        html! {
            h1 { "Sign in" }
            form method="post" action=(action) {
                input type="hidden" name="flow" value=(flow);
                label for="email" { "Email address" }
                input id="email" name="email" type="email" autocomplete="username" required
                    value=[email];
                button type="submit" { "Continue" }
            }
        },
    )
}

/// The platform login's choice, when the password opened accounts in several organisations:
/// one radio button per organisation, labelled with its name.
pub fn pick_tenant(
    branding: &Branding,
    nonce: &str,
    action: &str,
    (flow, choice): (&str, &str),
    organisations: &[(String, String)],
) -> Markup {
    layout(
        branding,
        nonce,
        "Choose an organisation",
        html! {
            h1 { "Choose an organisation" }
            form method="post" action=(action) {
                input type="hidden" name="flow" value=(flow);
                input type="hidden" name="choice" value=(choice);
                fieldset {
                    legend { "Sign in to" }
                    @for (i, (id, name)) in organisations.iter().enumerate() {
                        div class="choice" {
                            input type="radio" name="tenant" id=(format!("tenant-{i}"))
                                value=(id) required checked[i == 0];
                            label for=(format!("tenant-{i}")) { (name) }
                        }
                    }
                }
                button type="submit" { "Continue" }
            }
        },
    )
}

/// A page saying what went wrong, with nowhere to go back to (an unknown client or redirect
/// URI: the browser is never sent to an address the client did not register).
pub fn error(branding: &Branding, nonce: &str, title: &str, message: &str) -> Markup {
    layout(
        branding,
        nonce,
        title,
        html! {
            h1 { (title) }
            p role="alert" { (message) }
        },
    )
}

/// A page asking to confirm something (`body`: its text and form).
pub fn confirm(branding: &Branding, nonce: &str, title: &str, body: Markup) -> Markup {
    layout(
        branding,
        nonce,
        title,
        html! {
            h1 { (title) }
            (body)
        },
    )
}

/// After an RP-initiated logout with no registered address to return to.
pub fn signed_out(branding: &Branding, nonce: &str) -> Markup {
    layout(
        branding,
        nonce,
        "Signed out",
        html! {
            h1 { "You are signed out" }
            p { "You have been signed out of " (branding.name) ". You may close this window." }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_tenant_writes_is_escaped() {
        let branding = Branding::from_settings(
            "Acme",
            serde_json::json!({"display_name": "<script>alert(1)</script>",
                               "logo_url": "javascript:alert(1)"})
            .as_object()
            .unwrap(),
        );
        let page = login(
            &branding,
            "n",
            "/login",
            "f\"low",
            Some("a\"@b.c"),
            Some("<b>x</b>"),
        )
        .into_string();
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("javascript:"), "only https logos");
        assert!(page.contains("value=\"f&quot;low\""));
        assert!(page.contains("lang=\"en\""));
        assert!(page.contains("for=\"email\"") && page.contains("for=\"password\""));
    }

    #[test]
    fn colours_are_read_strictly_and_text_keeps_its_contrast() {
        assert_eq!(parse_hex("#1D4ED8"), Some((0x1d, 0x4e, 0xd8)));
        for bad in ["1d4ed8", "#1d4ed", "#1d4ed8;}", "red", "#gggggg"] {
            assert_eq!(parse_hex(bad), None, "{bad}");
        }
        for colour in [(255, 255, 0), (0, 0, 128), (120, 120, 120), (29, 78, 216)] {
            assert!(contrast(readable_on(colour), colour) >= 4.5, "{colour:?}");
        }
    }
}
