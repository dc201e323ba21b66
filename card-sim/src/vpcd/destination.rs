//! Whether the card should trust where the vpcd link goes. PINs, PUKs and management keys
//! cross the link in clear text, so an address that leaves this machine draws a warning:
//! anyone on the way can read them and answer in the reader's place.

use std::net::{SocketAddr, ToSocketAddrs};

use log::warn;

/// Warns, once, when `address` resolves to any address that is not loopback.
pub fn warn_unless_loopback(address: &str) {
    // An address that does not resolve is reported by the connecting loop.
    let Ok(addrs) = address.to_socket_addrs() else {
        return;
    };
    let off_machine = off_machine(&addrs.collect::<Vec<_>>());
    if !off_machine.is_empty() {
        let off_machine: Vec<String> = off_machine.iter().map(ToString::to_string).collect();
        warn!(
            "vpcd address {address} leaves this machine ({}): PINs, PUKs and keys cross \
             the link in clear text, for anyone on the way to read or answer",
            off_machine.join(", ")
        );
    }
}

/// The addresses among `addrs` that are not loopback (an IPv4-mapped IPv6 address counts
/// as the IPv4 address it carries).
pub fn off_machine(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    addrs
        .iter()
        .copied()
        .filter(|addr| !addr.ip().to_canonical().is_loopback())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn loopback_in_either_family_stays_on_this_machine() {
        let loopback = addrs(&[
            "127.0.0.1:35963",
            "127.4.5.6:35963",
            "[::1]:35963",
            "[::ffff:127.0.0.1]:35963",
        ]);
        assert_eq!(off_machine(&loopback), []);
    }

    #[test]
    fn every_other_address_leaves_it() {
        let mixed = addrs(&[
            "127.0.0.1:35963",
            "192.168.1.20:35963",
            "[::1]:35963",
            "[fe80::1]:35963",
            "[::ffff:10.0.0.1]:35963",
        ]);
        assert_eq!(
            off_machine(&mixed),
            addrs(&[
                "192.168.1.20:35963",
                "[fe80::1]:35963",
                "[::ffff:10.0.0.1]:35963"
            ])
        );
    }
}
