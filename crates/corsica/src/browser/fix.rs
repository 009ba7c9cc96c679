//! The fix for a verdict: which headers the server must send, on which
//! response, and the corsica policy that sends them. The policy is built
//! with the engine's own builder, so the suggestion is always a policy
//! corsica accepts.

use super::case::Credentials;
use super::error::CorsError;
use super::verdict::{Fix, Skipped};
use crate::header_names::is_safelisted_response_header;
use crate::policy::Policy;

/// Everything about the request that decides the fix.
#[derive(Debug, Clone)]
pub struct FixInput<'a> {
    /// The origin the server sees (`null` after a tainting redirect).
    pub origin: &'a str,
    /// The normalized method.
    pub method: &'a str,
    /// Whether a preflight is needed.
    pub needs_preflight: bool,
    /// The CORS-unsafe header names, lower case.
    pub unsafe_headers: Vec<String>,
    /// The credentials mode.
    pub credentials: Credentials,
    /// Response headers the script reads.
    pub read_headers: &'a [String],
    /// Names the script reads that came back hidden.
    pub hidden_headers: Vec<String>,
    /// Set when the fetch stopped before the request itself, with what had
    /// cleared it.
    pub skipped: Option<Skipped>,
    /// The address space a Local Network Access block names (`loopback`,
    /// `local`), when the request was blocked for it.
    pub lna_space: Option<&'a str>,
}

/// Builds the fix for an outcome (`None` means the request was allowed).
pub fn fix(input: &FixInput<'_>, error: Option<CorsError>) -> Fix {
    let include = input.credentials == Credentials::Include;
    let method_needed = !crate::method::is_safelisted(input.method);
    let expose: Vec<String> = input
        .read_headers
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .filter(|h| {
            !is_safelisted_response_header(h)
                && !crate::header_names::is_forbidden_response_header(h)
        })
        .collect();

    // Both responses owe the origin and, to a credentialed request,
    // Allow-Credentials; each adds its own headers after them.
    let mut owed = vec![(
        "Access-Control-Allow-Origin".to_owned(),
        input.origin.to_owned(),
    )];
    if include {
        owed.push((
            "Access-Control-Allow-Credentials".to_owned(),
            "true".to_owned(),
        ));
    }
    let mut preflight_headers = Vec::new();
    if input.needs_preflight {
        preflight_headers.clone_from(&owed);
        if method_needed {
            preflight_headers.push((
                "Access-Control-Allow-Methods".to_owned(),
                input.method.to_owned(),
            ));
        }
        if !input.unsafe_headers.is_empty() {
            preflight_headers.push((
                "Access-Control-Allow-Headers".to_owned(),
                input.unsafe_headers.join(", "),
            ));
        }
    }
    let mut response_headers = owed;
    if !expose.is_empty() {
        response_headers.push((
            "Access-Control-Expose-Headers".to_owned(),
            expose.join(", "),
        ));
    }

    if input.skipped == Some(Skipped::SameOrigin)
        || error.is_some_and(|e| e.is_local_network_access())
    {
        // CORS never blocks a same-origin request, and no header lifts a
        // Local Network Access block: no header is owed.
        preflight_headers.clear();
        response_headers.clear();
    }
    Fix {
        summary: summary(input, error),
        preflight_headers,
        response_headers,
        policy: policy_toml(input, method_needed, &expose),
    }
}

fn summary(input: &FixInput<'_>, error: Option<CorsError>) -> String {
    use CorsError::*;
    if let Some(why) = input.skipped {
        return skipped_summary(why).to_owned();
    }
    let origin = input.origin;
    let Some(error) = error else {
        return if input.hidden_headers.is_empty() {
            "Nothing to fix: the browser allows this request. The policy below grants exactly this request.".to_owned()
        } else {
            format!(
                "The request is allowed, but the script cannot read {}: the server must list {} in Access-Control-Expose-Headers.",
                input.hidden_headers.join(", "),
                if input.hidden_headers.len() == 1 { "it" } else { "them" }
            )
        };
    };
    let on = if error.name().starts_with("Preflight") {
        "the preflight (OPTIONS) response"
    } else {
        "the response"
    };
    match error {
        MissingAllowOriginHeader | PreflightMissingAllowOriginHeader => {
            format!("{on} has no Access-Control-Allow-Origin header: the server must send `Access-Control-Allow-Origin: {origin}`.")
        }
        WildcardOriginNotAllowed | PreflightWildcardOriginNotAllowed => format!(
            "{on} sends `Access-Control-Allow-Origin: *`, which browsers refuse for credentialed requests: send the exact origin `{origin}` and `Access-Control-Allow-Credentials: true` instead (or call fetch() with credentials: 'omit')."
        ),
        MultipleAllowOriginValues | PreflightMultipleAllowOriginValues => format!(
            "{on} sends several origins (or the header twice, e.g. from both the application and a proxy): send exactly one value, `{origin}`, from one place."
        ),
        InvalidAllowOriginValue | PreflightInvalidAllowOriginValue | AllowOriginMismatch | PreflightAllowOriginMismatch => format!(
            "{on} allows a different origin: browsers compare byte for byte (scheme, host, port; no trailing slash), so the server must send `Access-Control-Allow-Origin: {origin}`."
        ),
        InvalidAllowCredentials | PreflightInvalidAllowCredentials => {
            format!("The request sends credentials, so {on} must carry `Access-Control-Allow-Credentials: true` (exactly, in lower case).")
        }
        PreflightInvalidStatus => "The preflight (OPTIONS) response must have a 2xx status (204 is best): the server or a framework router answered OPTIONS with an error, often 404, 405 or 401 from authentication that runs before CORS. Answer preflights before routing and authentication.".to_owned(),
        PreflightDisallowedRedirect => "The preflight (OPTIONS) was redirected, which browsers never follow: request the final URL directly (watch for trailing-slash and http-to-https redirects) or stop redirecting OPTIONS.".to_owned(),
        InvalidAllowMethodsPreflightResponse => "Access-Control-Allow-Methods must be a comma-separated list of method names: fix its syntax.".to_owned(),
        InvalidAllowHeadersPreflightResponse => "Access-Control-Allow-Headers must be a comma-separated list of header names: fix its syntax.".to_owned(),
        MethodDisallowedByPreflightResponse => format!(
            "The preflight response must list `{}` in Access-Control-Allow-Methods (methods are case-sensitive; browsers upper-case only DELETE, GET, HEAD, OPTIONS, POST and PUT).",
            input.method
        ),
        HeaderDisallowedByPreflightResponse => format!(
            "The preflight response must list every request header the script sets in Access-Control-Allow-Headers: {}.",
            input.unsafe_headers.join(", ")
        ),
        RedirectContainsCredentials => "The redirect's Location has a user name or password, which browsers refuse for cross-origin requests: remove them from the Location URL.".to_owned(),
        LocalNetworkAccessPermissionDenied => {
            let space = input.lna_space.unwrap_or("local");
            let permission = if space == "loopback" { "loopback-network" } else { "local-network" };
            format!(
                "Not a CORS header problem: this is Local Network Access (Chrome 142+). A page on a more public address fetching the `{space}` address space needs the user's `{permission}` permission: the user must allow Chromium's prompt (or allow it in the site's settings). To avoid the prompt, serve the page and the API from the same address space (e.g. both on localhost in development, or the API on a public address). An HTTPS page fetching an http:// local address also needs `fetch(url, {{targetAddressSpace: \"local\"}})`, or mixed-content blocking stops it first; the permission is still required. Once allowed, CORS still applies: the policy below grants this request."
            )
        }
        InsecureLocalNetwork => {
            let space = input.lna_space.unwrap_or("local");
            format!(
                "Not a CORS header problem: this is Local Network Access (Chrome 142+). A page that is not a secure context cannot be given access to the `{space}` address space, and Chromium blocks without asking: serve the page over HTTPS (then the user can grant the permission), or serve the page and the API from the same address space."
            )
        }
        DisallowedByMode | InvalidResponse | CorsDisabledScheme => format!("The request failed ({}).", error.name()),
    }
}

/// The corsica policy that would answer this request, validated by the
/// engine; opt-ins are added where the request needs them.
fn policy_toml(input: &FixInput<'_>, method_needed: bool, expose: &[String]) -> String {
    let quote = |items: &[String]| {
        items
            .iter()
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut lines = vec![format!("origins = [\"{}\"]", input.origin)];
    if method_needed {
        lines.push(format!("methods = [\"{}\"]", input.method));
    }
    if !input.unsafe_headers.is_empty() {
        lines.push(format!(
            "request_headers = [{}]",
            quote(&input.unsafe_headers)
        ));
    }
    if !expose.is_empty() {
        lines.push(format!("expose_headers = [{}]", quote(expose)));
    }
    if input.credentials == Credentials::Include {
        lines.push("credentials = true".to_owned());
    }
    let text = lines.join("\n");
    // Add the opt-ins the engine asks for, so the suggestion is accepted.
    let mut opt_ins = Vec::new();
    if let Err(e) = Policy::from_toml(&text) {
        for d in e.errors() {
            let line = match d.code {
                "null-origin" => "dangerously_allow_null_origin = true  # any sandboxed iframe can then call this API",
                "insecure-origin-with-credentials" => "dangerously_allow_insecure_origins = true  # prefer moving the page to https",
                _ => continue,
            };
            if !opt_ins.contains(&line) {
                opt_ins.push(line);
            }
        }
    }
    if opt_ins.is_empty() {
        text
    } else {
        format!("{text}\n{}", opt_ins.join("\n"))
    }
}

/// What a fetch stopped before its request says instead of a fix.
fn skipped_summary(why: Skipped) -> &'static str {
    match why {
        Skipped::PreflightPassed => "The preflight passes. The request itself was not sent, so its response is unchecked: for the script to read it, it must carry the headers below.",
        Skipped::CachedPreflight => "A cached preflight result covers the request. The request itself was not sent, so its response is unchecked: for the script to read it, it must carry the headers below.",
        Skipped::SameOrigin => "Nothing to fix: the URL is same-origin with the page, so CORS does not apply (a redirect to another origin would change that; the request was not sent).",
        Skipped::NoPreflight => "Nothing was checked: a browser sends this request without a preflight, so only the response to the request itself can be judged.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(read: &'a [String]) -> FixInput<'a> {
        FixInput {
            origin: "https://app.example",
            method: "PUT",
            needs_preflight: true,
            unsafe_headers: vec!["x-token".into()],
            credentials: Credentials::Include,
            read_headers: read,
            hidden_headers: vec![],
            skipped: None,
            lna_space: None,
        }
    }

    #[test]
    fn the_suggested_policy_is_one_corsica_accepts() {
        let read = vec!["x-request-id".to_owned(), "content-type".to_owned()];
        let f = fix(
            &input(&read),
            Some(CorsError::MethodDisallowedByPreflightResponse),
        );
        assert_eq!(
            f.policy,
            "origins = [\"https://app.example\"]\nmethods = [\"PUT\"]\nrequest_headers = [\"x-token\"]\nexpose_headers = [\"x-request-id\"]\ncredentials = true"
        );
        assert!(Policy::from_toml(&f.policy).is_ok());
        assert!(f
            .preflight_headers
            .contains(&("Access-Control-Allow-Methods".into(), "PUT".into())));
        assert!(f.summary.contains("PUT"));
    }

    #[test]
    fn null_origins_get_the_opt_in() {
        let read = vec![];
        let mut i = input(&read);
        i.origin = "null";
        let f = fix(&i, Some(CorsError::AllowOriginMismatch));
        assert!(
            f.policy.contains("dangerously_allow_null_origin = true"),
            "{}",
            f.policy
        );
        let body: String = f
            .policy
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim().to_owned() + "\n")
            .collect();
        assert!(Policy::from_toml(&body).is_ok(), "{}", f.policy);
    }
}
