//! Just enough RFC 5322 / MIME to sign and verify mail as a stream: the header block,
//! Content-Type with its parameters, and boundaries.

use std::io::{self, BufRead, Read};

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
                String::from_utf8_lossy(&line)
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

/// The address in a From header: what is between angle brackets, or the bare value.
pub fn mailbox_address(value: &str) -> Option<String> {
    let addr = match (value.rfind('<'), value.rfind('>')) {
        (Some(start), Some(end)) if start < end => &value[start + 1..end],
        _ => value.trim(),
    };
    addr.contains('@').then(|| addr.trim().to_owned())
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
            Some("alice@example.org")
        );
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
