//! Listening TCP sockets and the user owning each, from Linux's `/proc/net/tcp` and
//! `/proc/net/tcp6`.
//!
//! After a header, each line reads `sl local_address rem_address st tx:rx tr:when
//! retrnsmt uid …`. An address is hex: IPv4 as one 32-bit word, IPv6 as four, each word
//! printed as the number the kernel holds in memory, so on a little-endian machine
//! 127.0.0.1 reads `0100007F` and ::1 `00000000000000000000000001000000`. The port after
//! the colon is a plain 16-bit hex number; state `0A` is LISTEN. Hand-written because the
//! `procfs` crate would bring a large dependency for one table.

use std::fs;
use std::net::{IpAddr, SocketAddr};

const TABLES: [&str; 2] = ["/proc/net/tcp", "/proc/net/tcp6"];
const LISTEN: &str = "0A";

/// A socket in LISTEN state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listener {
    pub address: SocketAddr,
    pub uid: u32,
}

/// Every listening socket in this network namespace; `None` when neither table can be
/// read (not Linux, or no `/proc`).
pub fn listeners() -> Option<Vec<Listener>> {
    let tables: Vec<String> = TABLES
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .collect();
    if tables.is_empty() {
        return None;
    }
    Some(tables.iter().flat_map(|table| parse(table)).collect())
}

/// The listening sockets in one table; lines that do not parse are passed over.
pub fn parse(table: &str) -> Vec<Listener> {
    table.lines().skip(1).filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Listener> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [_, local, _, state, _, _, _, uid, ..] = fields[..] else {
        return None;
    };
    if state != LISTEN {
        return None;
    }
    let (ip, port) = local.split_once(':')?;
    Some(Listener {
        address: SocketAddr::new(parse_ip(ip)?, u16::from_str_radix(port, 16).ok()?),
        uid: uid.parse().ok()?,
    })
}

fn parse_ip(hex: &str) -> Option<IpAddr> {
    match hex.len() {
        8 => Some(IpAddr::from(parse_words::<4>(hex)?)),
        32 => Some(IpAddr::from(parse_words::<16>(hex)?)),
        _ => None,
    }
}

/// `N` address bytes from `2 * N` hex digits, read as 32-bit words in memory order.
fn parse_words<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    for (out, word) in bytes.chunks_exact_mut(4).zip(hex.as_bytes().chunks(8)) {
        let word = u32::from_str_radix(std::str::from_utf8(word).ok()?, 16).ok()?;
        out.copy_from_slice(&word.to_ne_bytes());
    }
    Some(bytes)
}

/// A listener on `address` ("127.0.0.1:35963"), owned by `uid`.
#[cfg(test)]
pub fn listener(address: &str, uid: u32) -> Listener {
    Listener {
        address: address.parse().unwrap(),
        uid,
    }
}

// The samples were printed by a little-endian machine.
#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    const TCP: &str = "\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:8C7B 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 71851 1 000000008bbc5a3c 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21312 1 00000000a28c432a 100 0 0 10 0
   2: 0100007F:8C7B 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1001        0 71990 1 0000000000000000 20 4 30 10 -1
   3: 0501A8C0:8C7B 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1002        0 71852 1 000000008bbc5a3c 100 0 0 10 0
";

    const TCP6: &str = "\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:8C7C 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 120441 1 000000005fe6a44e 100 0 0 10 0
   1: 00000000000000000000000000000000:8C7B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 120442 1 000000008b28507b 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:8C7D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 120443 1 000000008b28507b 100 0 0 10 0
   3: 000080FE000000000000000001000000:8C7E 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 120444 1 000000008b28507b 100 0 0 10 0
";

    #[test]
    fn ipv4_listeners_with_their_owners_and_no_connections() {
        assert_eq!(
            parse(TCP),
            [
                listener("127.0.0.1:35963", 1001),
                listener("0.0.0.0:22", 0),
                listener("192.168.1.5:35963", 1002),
            ]
        );
    }

    #[test]
    fn ipv6_words_are_each_in_memory_order() {
        assert_eq!(
            parse(TCP6),
            [
                listener("[::1]:35964", 1000),
                listener("[::]:35963", 0),
                listener("[::ffff:127.0.0.1]:35965", 0),
                listener("[fe80::1]:35966", 0),
            ]
        );
    }

    #[test]
    fn lines_that_do_not_parse_are_passed_over() {
        let table = "header\n\
            0: 0100007F:8C7B 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n\
            1: 0100007F:ZZZZ 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0\n\
            2: 00007F:8C7B 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0\n\
            3: 0100007F:8C7B 00000000:0000 0A 00000000:00000000 00:00000000 00000000 root\n\
            \n";
        assert_eq!(parse(table), []);
    }
}
