//! The panel's HTML: one layout, escaping, and the few pieces every page uses. Plain
//! server-rendered pages, readable on a phone, with a little script only where a page
//! updates itself.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::auth::Operator;

/// Shown when a form's CSRF token is missing or old.
pub const FORM_EXPIRED: &str = "Este formulário expirou ou não veio deste painel. \
     Volte, recarregue a página e tente de novo.";

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page; with an operator, the header has the menu and the logout button.
pub fn page(title: &str, operator: Option<&Operator>, body: &str) -> Html<String> {
    let menu = match operator {
        Some(op) => format!(
            "<a href=\"/clientes\">Clientes</a><span class=\"who\">+{}</span>\
             <form method=\"post\" action=\"/sair\">{}<button>Sair</button></form>",
            esc(&op.phone),
            csrf_field(op)
        ),
        None => String::new(),
    };
    Html(format!(
        "<!doctype html><html lang=\"pt-BR\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"same-origin\">\
         <title>{} · orbitbot</title><link rel=\"stylesheet\" href=\"/css/painel.css\"></head>\
         <body><header><strong>orbitbot</strong>{menu}</header><main>{body}</main></body></html>",
        esc(title)
    ))
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(operator: &Operator) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&operator.csrf)
    )
}

/// Texts kept from the last action, as notes at the top of a page; web addresses in
/// them (a live QR link) can be opened and copied.
pub fn notes(texts: &[String]) -> String {
    texts
        .iter()
        .map(|t| format!("<div class=\"note\" role=\"status\">{}</div>", linked(t)))
        .collect()
}

/// Escaped text with each `http://` or `https://` word made a link.
fn linked(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let words: Vec<String> = line
            .split(' ')
            .map(
                |word| match word.starts_with("http://") || word.starts_with("https://") {
                    true => format!("<a href=\"{0}\">{0}</a>", esc(word)),
                    false => esc(word),
                },
            )
            .collect();
        out.push_str(&words.join(" "));
    }
    out
}

/// A small form that posts one action, with its button.
pub fn action(operator: &Operator, url: &str, fields: &[(&str, &str)], label: &str) -> String {
    let hidden: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\">{}{hidden}<button>{}</button></form>",
        esc(url),
        csrf_field(operator),
        esc(label)
    )
}

/// A page that says what went wrong, with its status; handlers return it with `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    status: StatusCode,
    text: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::NOT_FOUND => "Não encontrado",
            _ => "Recusado",
        };
        let body = format!(
            "<div class=\"note bad\">{}</div><p><a href=\"/clientes\">Voltar aos clientes</a></p>",
            esc(&self.text)
        );
        (self.status, page(title, None, &body)).into_response()
    }
}

/// Refused (403), saying why.
pub fn refused(text: &str) -> Problem {
    Problem {
        status: StatusCode::FORBIDDEN,
        text: text.to_owned(),
    }
}

/// Not there (404), saying what.
pub fn not_found(text: &str) -> Problem {
    Problem {
        status: StatusCode::NOT_FOUND,
        text: text.to_owned(),
    }
}

/// A state as a coloured label the live script can update.
pub fn state(tenant: &str, state: crate::tenant::SessionState) -> String {
    format!(
        "<span class=\"state state-{}\" data-state-of=\"{}\">{}</span>",
        state.as_str(),
        esc(tenant),
        esc(state.label())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_notes_become_links_and_nothing_else_does() {
        let note = notes(&["Link: http://x/l/abc\n<b>https://y\"z</b>".to_owned()]);
        assert!(
            note.contains("<a href=\"http://x/l/abc\">http://x/l/abc</a>"),
            "{note}"
        );
        assert!(
            note.contains("&lt;b&gt;https://y&quot;z&lt;/b&gt;"),
            "{note}"
        );
    }

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            esc("<b a=\"x\">'&'</b>"),
            "&lt;b a=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"
        );
    }
}
