//! Whether the card should trust where the vpcd link goes. PINs, PUKs and management keys
//! cross the link in clear text, so an address that leaves this machine draws a warning:
//! anyone on the way can read them and answer in the reader's place. On this machine, a
//! loopback port held by another user's program could be one posing as vpcd to collect
//! them: unless told otherwise, the card connects only where root (pcscd) or its own user
//! listens.
//!
//! What the listener check does not catch: a listener that takes the port between the
//! check and the connect, and anything when `/proc/net/tcp` cannot say (no `/proc`, or
//! the listener in another network namespace), where the card connects unchecked.

use std::net::{SocketAddr, ToSocketAddrs};

use log::{debug, warn};

use super::proc_net_tcp::{self, Listener};

/// Whose listener on a loopback vpcd port the card connects to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowedListener {
    /// Root's (pcscd runs as root) or the card's own user's.
    RootOrOwnUser,
    /// Anyone's: the owner is not checked.
    AnyUser,
}

/// A loopback port whose listener belongs to neither root nor the card's own user.
#[derive(Debug, thiserror::Error)]
#[error(
    "port {port} on this machine is held by a program of uid {uid}, neither root nor this \
     user (uid {own}): it could be posing as vpcd to collect PINs and keys"
)]
pub struct ForeignListener {
    pub port: u16,
    pub uid: u32,
    pub own: u32,
}

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

/// Before the card connects to `dest`, checks that whoever listens there on loopback is
/// one that `allowed` admits.
pub fn check_listener(dest: SocketAddr, allowed: AllowedListener) -> Result<(), ForeignListener> {
    if allowed == AllowedListener::AnyUser || !dest.ip().to_canonical().is_loopback() {
        return Ok(());
    }
    let Some(listeners) = proc_net_tcp::listeners() else {
        debug!("no /proc/net/tcp: connecting to {dest} without knowing who listens");
        return Ok(());
    };
    let owners = owners(&listeners, dest);
    if owners.is_empty() {
        debug!("no listener for {dest} in /proc/net/tcp (another network namespace?)");
    }
    let own = effective_uid();
    match foreign(&owners, own) {
        Some(uid) => Err(ForeignListener {
            port: dest.port(),
            uid,
            own,
        }),
        None => Ok(()),
    }
}

/// The owners of the listeners that could take a connection to `dest`: on its port,
/// bound to its address or to every address.
fn owners(listeners: &[Listener], dest: SocketAddr) -> Vec<u32> {
    let ip = dest.ip().to_canonical();
    listeners
        .iter()
        .filter(|l| l.address.port() == dest.port())
        .filter(|l| {
            let bound = l.address.ip().to_canonical();
            bound == ip || bound.is_unspecified()
        })
        .map(|l| l.uid)
        .collect()
}

/// The first of `owners` that is neither root nor `own`.
fn foreign(owners: &[u32], own: u32) -> Option<u32> {
    owners.iter().copied().find(|&uid| uid != 0 && uid != own)
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no argument, touches no memory and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vpcd::proc_net_tcp::listener;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn owners_are_those_who_could_take_the_connection() {
        let listeners = [
            listener("127.0.0.1:35963", 1001),
            listener("0.0.0.0:35963", 0),
            listener("[::]:35963", 1002),
            listener("[::ffff:127.0.0.1]:35963", 1003),
            listener("192.168.1.5:35963", 1004),
            listener("127.0.0.1:35964", 1005),
            listener("[::1]:35964", 1006),
        ];
        let v4: SocketAddr = "127.0.0.1:35963".parse().unwrap();
        assert_eq!(owners(&listeners, v4), [1001, 0, 1002, 1003]);
        let v6: SocketAddr = "[::1]:35964".parse().unwrap();
        assert_eq!(owners(&listeners, v6), [1006]);
    }

    #[test]
    fn only_root_and_our_own_user_are_trusted() {
        assert_eq!(foreign(&[], 1000), None);
        assert_eq!(foreign(&[0, 1000], 1000), None);
        assert_eq!(foreign(&[0, 1001, 1000], 1000), Some(1001));
    }

    #[test]
    fn our_own_listener_is_found_and_trusted() {
        let ours = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dest = ours.local_addr().unwrap();
        let listeners = proc_net_tcp::listeners().expect("/proc/net/tcp on Linux");
        // Another program may listen on the same port number on a wildcard address too.
        assert!(owners(&listeners, dest).contains(&effective_uid()));
        check_listener(dest, AllowedListener::RootOrOwnUser).unwrap();
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
