//! A card served the README's way (`scripts/serve.sh`: the reader "Virtual PCD 00 00")
//! is visible to PKCS#11 clients with OpenSC's configuration as Debian installs it.
//! OpenSC gives slots to the first four readers only, so this holds because
//! `.ci/pcsc-env.sh` makes pcscd list that reader first.

use e2e::{READERS, Reader, SimCard, run_ok};

const OPENSC_PKCS11: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

#[test]
fn pkcs11_tool_with_opensc_as_installed_sees_the_served_card() {
    let card = SimCard::start_in(35963);
    assert_eq!(card.reader.name, "Virtual PCD 00 00");
    // As installed, the module probes the cards of the first four readers with every card
    // driver, whose SELECTs of other applications would log out other tests' PIV cards
    // there: those readers stay empty while it runs.
    let _empty: Vec<Reader> = READERS[1..4]
        .iter()
        .map(|&(port, _)| {
            let reader = Reader::claim_port(port);
            reader.wait_for_card(false);
            reader
        })
        .collect();
    // No OPENSC_CONF: the module reads /etc/opensc/opensc.conf as the package left it.
    let listing = run_ok("pkcs11-tool", &["--module", OPENSC_PKCS11, "-L"]);
    let slot = listing
        .split("Slot ")
        .find(|slot| slot.contains("Virtual PCD 00 00"))
        .unwrap_or_else(|| panic!("no slot for Virtual PCD 00 00:\n{listing}"));
    assert!(
        slot.contains("token label") && slot.contains("PIV"),
        "the slot of Virtual PCD 00 00 shows no PIV token:\n{listing}"
    );
}
