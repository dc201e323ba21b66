//! Just enough RFC 5322 / MIME to sign and verify mail as a stream: the header block,
//! Content-Type with its parameters, and boundaries.

use std::io::{self, BufRead, Read};

use crate::escape::Escaped;

/// The most header bytes a message may have before its body.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// One header field: its name and the raw lines (continuations included, line endings
/// stripped), so it can be written back as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub lines: Vec<Vec<u8>>,
}

impl Header {
    pub fn new(name: &str, value: &str) -> Self {
        Self {
            name: name.to_owned(),
            lines: vec![format!("{name}: {value}").into_bytes()],
        }
    }

    /// The unfolded value, without the name.
    pub fn value(&self) -> String {
        let joined: Vec<u8> = self.lines.join(&b" "[..]);
        let text = String::from_utf8_lossy(&joined);
        text.split_once(':')
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// A content header belongs to the MIME entity (Content-*), not to the message.
    pub fn is_content_header(&self) -> bool {
        self.name.to_ascii_lowercase().starts_with("content-")
    }

    /// Appends the field with CRLF line endings.
    pub fn write_crlf(&self, out: &mut Vec<u8>) {
        for line in &self.lines {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Reads a header block up to and including the empty line that ends it (or the end of
/// input). Accepts LF or CRLF line endings.
pub fn read_headers(input: &mut impl BufRead) -> io::Result<Vec<Header>> {
    let mut headers: Vec<Header> = Vec::new();
    let mut total = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bounded, so one endless line cannot make us buffer more than the limit.
        let room = (MAX_HEADER_BYTES - total + 1) as u64;
        let n = (&mut *input).take(room).read_until(b'\n', &mut line)?;
        total += n;
        if total > MAX_HEADER_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the message headers exceed 1 MiB",
            ));
        }
        strip_line_ending(&mut line);
        if line.is_empty() {
            return Ok(headers);
        }
        if matches!(line[0], b' ' | b'\t') {
            match headers.last_mut() {
                Some(h) => h.lines.push(line.clone()),
                None => return Err(invalid("the message starts with a continuation line")),
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(invalid(&format!(
                "\"{}\" is not a header line (a blank line must separate headers from the body)",
                Escaped(&String::from_utf8_lossy(&line))
            )));
        };
        let name = String::from_utf8_lossy(&line[..colon]).trim().to_owned();
        headers.push(Header {
            name,
            lines: vec![line.clone()],
        });
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// Removes a trailing LF or CRLF.
pub fn strip_line_ending(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
}

pub fn find<'a>(headers: &'a [Header], name: &str) -> Option<&'a Header> {
    headers.iter().find(|h| h.is(name))
}

/// A Content-Type: `type/subtype` in lower case and its parameters (names lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    pub mime_type: String,
    pub params: Vec<(String, String)>,
}

impl ContentType {
    /// RFC 2045's default.
    pub fn default_text() -> Self {
        Self {
            mime_type: "text/plain".into(),
            params: vec![("charset".into(), "us-ascii".into())],
        }
    }

    pub fn parse(value: &str) -> Self {
        let mut parts = split_params(value).into_iter();
        let mime_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let params = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .map(unquote)
                    .unwrap_or_else(|| v.to_owned());
                Some((k.trim().to_ascii_lowercase(), v))
            })
            .collect();
        Self { mime_type, params }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_multipart(&self) -> bool {
        self.mime_type.starts_with("multipart/")
    }
}

/// Splits at semicolons outside quoted strings.
fn split_params(value: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

fn unquote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for c in s.chars() {
        if !escaped && c == '\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// The Content-Type of a header block (text/plain when absent).
pub fn content_type(headers: &[Header]) -> ContentType {
    find(headers, "Content-Type")
        .map(|h| ContentType::parse(&h.value()))
        .unwrap_or_else(ContentType::default_text)
}

/// The Content-Transfer-Encoding in lower case (7bit when absent).
pub fn transfer_encoding(headers: &[Header]) -> String {
    find(headers, "Content-Transfer-Encoding")
        .map(|h| h.value().to_ascii_lowercase())
        .unwrap_or_else(|| "7bit".into())
}

/// Why a From header value does not name one mailbox whose address can be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AddressError(pub String);

fn address_error(what: impl Into<String>) -> AddressError {
    AddressError(what.into())
}

/// The address of the one mailbox a From header names (RFC 5322 §3.4, with the obsolete
/// forms of §4.4 that matter): the `angle-addr` when there is one, else the `addr-spec`.
///
/// Comments are removed (nested, with backslash escapes); quoted strings are read as one
/// word, so neither a comment nor a quoted display name can supply the address. A quoted
/// local part comes out unquoted when it needs no quotes (`"alice"@example.org` is
/// `alice@example.org`). A list of mailboxes (a comma outside quoted strings, comments and
/// angle brackets) or a group (a colon there) is an error: a signature vouches for one
/// sender.
pub fn mailbox_address(value: &str) -> Result<String, AddressError> {
    let tokens = tokenize(value)?;
    let mut in_angle = false;
    let mut angle_addrs = 0;
    for token in &tokens {
        match token {
            Token::Special('<') if in_angle => {
                return Err(address_error("has a '<' inside an angle-bracketed address"));
            }
            Token::Special('<') => {
                in_angle = true;
                angle_addrs += 1;
            }
            Token::Special('>') if !in_angle => return Err(address_error("has a stray '>'")),
            Token::Special('>') => in_angle = false,
            Token::Special(',') if !in_angle => {
                return Err(address_error(
                    "names more than one mailbox; a signature vouches for one sender",
                ));
            }
            Token::Special(':' | ';') if !in_angle => {
                return Err(address_error(
                    "is a group of addresses; a signature vouches for one sender",
                ));
            }
            _ => {}
        }
    }
    if in_angle {
        return Err(address_error("has a '<' without its '>'"));
    }
    if angle_addrs > 1 {
        return Err(address_error(
            "has more than one angle-bracketed address; a signature vouches for one sender",
        ));
    }
    let Some(open) = tokens.iter().position(|t| *t == Token::Special('<')) else {
        return addr_spec(&tokens);
    };
    // The display name before `<` is only shown, never checked; nothing may follow `>`.
    let close = open
        + tokens[open..]
            .iter()
            .position(|t| *t == Token::Special('>'))
            .ok_or_else(|| address_error("has a '<' without its '>'"))?;
    if close + 1 != tokens.len() {
        return Err(address_error(
            "has text after the address in angle brackets",
        ));
    }
    let inner = &tokens[open + 1..close];
    // obs-angle-addr: a source route (`<@relay.example:alice@example.org>`) is ignored.
    let inner = match inner.iter().rposition(|t| *t == Token::Special(':')) {
        Some(colon) if inner.first() == Some(&Token::Special('@')) => &inner[colon + 1..],
        Some(_) => return Err(address_error("has a ':' inside its address")),
        None => inner,
    };
    addr_spec(inner)
}

/// A lexical token of an address header, comments and white space removed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A run of atext (RFC 5322 §3.2.3; UTF-8 allowed, RFC 6532).
    Atom(String),
    /// A quoted string, its quoted pairs resolved.
    Quoted(String),
    /// A domain literal, brackets included, as written.
    DomainLiteral(String),
    /// One of `< > @ , ; : .`.
    Special(char),
}

fn tokenize(value: &str) -> Result<Vec<Token>, AddressError> {
    let mut tokens = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {}
            '(' => {
                // ccontent = ctext / quoted-pair / comment: a '"' here is just text.
                let mut depth = 1;
                while depth > 0 {
                    match chars.next() {
                        None => return Err(address_error("has a comment without its ')'")),
                        Some('\\') => {
                            chars.next();
                        }
                        Some('(') => depth += 1,
                        Some(')') => depth -= 1,
                        Some(_) => {}
                    }
                }
            }
            '"' => {
                let mut text = String::new();
                loop {
                    match chars.next() {
                        None => return Err(address_error("has a quoted string without its end")),
                        Some('\\') => match chars.next() {
                            Some(escaped) => text.push(escaped),
                            None => {
                                return Err(address_error("has a quoted string without its end"));
                            }
                        },
                        Some('"') => break,
                        Some(c) => text.push(c),
                    }
                }
                tokens.push(Token::Quoted(text));
            }
            '[' => {
                let mut text = String::from('[');
                loop {
                    match chars.next() {
                        None => return Err(address_error("has a domain literal without its ']'")),
                        Some('\\') => {
                            text.push('\\');
                            text.extend(chars.next());
                        }
                        Some('[') => {
                            return Err(address_error("has a '[' inside a domain literal"));
                        }
                        Some(']') => break,
                        Some(c) => text.push(c),
                    }
                }
                text.push(']');
                tokens.push(Token::DomainLiteral(text));
            }
            '<' | '>' | '@' | ',' | ';' | ':' | '.' => tokens.push(Token::Special(c)),
            ')' | ']' | '\\' => {
                return Err(address_error(format!("has a stray '{c}'")));
            }
            c if c.is_control() => {
                return Err(address_error("has a control character"));
            }
            c => {
                let mut atom = String::from(c);
                while let Some(&next) = chars.peek() {
                    if is_atext(next) {
                        atom.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Atom(atom));
            }
        }
    }
    Ok(tokens)
}

/// atext (RFC 5322 §3.2.3), and any non-ASCII character (RFC 6532 §3.2).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control())
}

/// Whether `text` is a dot-atom-text: atoms joined by single dots.
fn is_dot_atom(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// `local-part "@" domain`, from its tokens.
fn addr_spec(tokens: &[Token]) -> Result<String, AddressError> {
    let mut at = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| **t == Token::Special('@'));
    let (Some((at, _)), None) = (at.next(), at.next()) else {
        return Err(address_error(if tokens.contains(&Token::Special('@')) {
            "has an address with more than one '@'"
        } else {
            "has no address (local-part@domain)"
        }));
    };
    let (local, domain) = (&tokens[..at], &tokens[at + 1..]);

    // local-part = dot-atom / quoted-string / obs-local-part (words joined by dots).
    let mut words = Vec::new();
    for (i, token) in local.iter().enumerate() {
        match (i % 2, token) {
            (0, Token::Atom(word) | Token::Quoted(word)) => words.push(word.as_str()),
            (1, Token::Special('.')) => {}
            _ => {
                return Err(address_error(
                    "has an address with an unreadable local part",
                ));
            }
        }
    }
    if local.len() % 2 == 0 {
        return Err(address_error(
            "has an address with an unreadable local part",
        ));
    }
    let local = words.join(".");
    let local = if is_dot_atom(&local) {
        local
    } else {
        let escaped: String = local
            .chars()
            .flat_map(|c| match c {
                '"' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    };

    // domain = dot-atom / domain-literal.
    let domain = match domain {
        [Token::DomainLiteral(literal)] => literal.clone(),
        _ => {
            let mut labels = Vec::new();
            for (i, token) in domain.iter().enumerate() {
                match (i % 2, token) {
                    (0, Token::Atom(label)) => labels.push(label.as_str()),
                    (1, Token::Special('.')) => {}
                    _ => return Err(address_error("has an address with an unreadable domain")),
                }
            }
            if domain.len() % 2 == 0 {
                return Err(address_error("has an address with an unreadable domain"));
            }
            labels.join(".")
        }
    };
    Ok(format!("{local}@{domain}"))
}

/// A boundary that cannot occur by accident: random, and with characters base64 and
/// quoted-printable never produce together.
pub fn new_boundary() -> io::Result<String> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(format!(
        "----=_smime-card_{}",
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_unfold_and_keep_their_lines() {
        let mut input = &b"From: Alice <alice@example.org>\nSubject: a\n long subject\r\nContent-Type: text/plain;\n charset=\"utf-8\"\n\nbody\n"[..];
        let headers = read_headers(&mut input).unwrap();
        assert_eq!(headers.len(), 3);
        assert_eq!(headers[1].value(), "a  long subject");
        assert_eq!(headers[1].lines.len(), 2);
        assert_eq!(content_type(&headers).param("charset"), Some("utf-8"));
        assert_eq!(input, b"body\n");
        assert_eq!(
            mailbox_address(&headers[0].value()).as_deref(),
            Ok("alice@example.org")
        );
    }

    #[test]
    fn the_mailbox_address_is_the_angle_addr_or_the_addr_spec() {
        for (value, address) in [
            ("Alice <alice@example.org>", "alice@example.org"),
            ("alice@example.org", "alice@example.org"),
            ("  <alice@example.org>  ", "alice@example.org"),
            (
                "\"Example, Alice\" <alice@example.org>",
                "alice@example.org",
            ),
            (
                "\"Alice \\\" <mallory@evil.example>\" <alice@example.org>",
                "alice@example.org",
            ),
            (
                "\"(not a comment)\" <alice@example.org>",
                "alice@example.org",
            ),
            ("John Q. Public <jqp@example.org>", "jqp@example.org"),
            // Comments, nested and with escapes, are no part of the address.
            (
                "mallory@evil.example (<alice@example.org>)",
                "mallory@evil.example",
            ),
            (
                "(Alice <alice@example.org>) mallory@evil.example",
                "mallory@evil.example",
            ),
            (
                "Mallory (a (nested \\) comment)) <mallory@evil.example>",
                "mallory@evil.example",
            ),
            (
                "(\"unbalanced quote in a comment) mallory@evil.example",
                "mallory@evil.example",
            ),
            ("mallory(x)@(y)evil.example", "mallory@evil.example"),
            // Quoted local parts, unquoted when they need no quotes.
            ("\"alice\"@example.org", "alice@example.org"),
            ("\"alice\".\"smith\"@example.org", "alice.smith@example.org"),
            ("\"alice smith\"@example.org", "\"alice smith\"@example.org"),
            ("\"a\\\"b\"@example.org", "\"a\\\"b\"@example.org"),
            ("alice@[192.0.2.1]", "alice@[192.0.2.1]"),
            ("<@relay.example:alice@example.org>", "alice@example.org"),
            ("Ålice <ålice@exämple.org>", "ålice@exämple.org"),
        ] {
            assert_eq!(mailbox_address(value).as_deref(), Ok(address), "{value}");
        }
    }

    #[test]
    fn several_mailboxes_groups_and_garbage_have_no_address() {
        for (value, why) in [
            (
                "Mallory <mallory@evil.example>, <alice@example.org>",
                "more than one mailbox",
            ),
            (
                "mallory@evil.example, alice@example.org",
                "more than one mailbox",
            ),
            ("alice@example.org,", "more than one mailbox"),
            ("Friends: alice@example.org;", "group"),
            ("undisclosed-recipients:;", "group"),
            (
                "Mallory <mallory@evil.example> <alice@example.org>",
                "more than one",
            ),
            (
                "<alice@example.org> mallory@evil.example",
                "after the address",
            ),
            ("<alice@example.org", "without its '>'"),
            ("alice@example.org>", "stray"),
            ("Alice", "no address"),
            ("", "no address"),
            ("alice@@example.org", "more than one '@'"),
            ("alice@example@org", "more than one '@'"),
            ("alice smith@example.org", "local part"),
            ("alice..smith@example.org", "local part"),
            ("alice@example..org", "domain"),
            ("alice@", "domain"),
            ("@example.org", "local part"),
            ("alice@example.org (unclosed", "comment"),
            ("\"unclosed <alice@example.org>", "quoted string"),
            ("<alice@[1.2.3.4>", "domain literal"),
        ] {
            let err = mailbox_address(value).unwrap_err();
            assert!(err.to_string().contains(why), "{value}: {err}");
        }
    }

    #[test]
    fn content_type_parameters_with_quotes_and_semicolons() {
        let ct = ContentType::parse(
            r#"Multipart/Signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="a;b\"c""#,
        );
        assert_eq!(ct.mime_type, "multipart/signed");
        assert_eq!(ct.param("boundary"), Some("a;b\"c"));
        assert_eq!(ct.param("micalg"), Some("sha-256"));
    }

    #[test]
    fn a_body_line_among_headers_is_an_error() {
        assert!(read_headers(&mut &b"From: a@b\nnot a header\n\n"[..]).is_err());
    }
}
