//! Several programs at once against one card through pcscd: each gets its own signatures
//! and plaintexts, never another's answer, however their transactions interleave and
//! whatever resets the others leave behind when they close.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;

use apdu_spec::piv::ObjectId;
use apdu_spec::piv::command::{GetData, GetResponse, Select};
use apdu_spec::{CommandApdu, Response, StatusWord};
use e2e::{SimCard, output_text, smime_card_binary};
use pcsc::{Context, Disposition, Protocols, Scope, ShareMode};
use test_pki::{Profile, TestCa};

const PIN: &str = "123456";
/// `smime-card` processes running at once.
const PROCESSES: usize = 4;
/// Signatures and decryptions each process makes.
const ROUNDS: usize = 10;
/// Transactions each raw PC/SC thread makes.
const RAW_ROUNDS: usize = 200;

/// `smime-card --reader <the card's reader> <args>` in `dir`, the PIN in `$PIN`.
fn smime_card(card: &SimCard, dir: &Path, args: &[&str]) -> Output {
    Command::new(smime_card_binary())
        .current_dir(dir)
        .env_remove("SMIME_CARD_READER")
        .env_remove("SMIME_CARD_SIM")
        .env("PIN", PIN)
        .args(["--reader", card.reader.name])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("smime-card runs")
}

#[track_caller]
fn smime_card_ok(card: &SimCard, dir: &Path, args: &[&str]) {
    let out = smime_card(card, dir, args);
    assert!(
        out.status.success(),
        "smime-card {args:?} failed ({}):\n{}",
        out.status,
        output_text(&out)
    );
}

/// Generates a key of `algorithm` in `slot`, has the CA certify it with `profile` as
/// `<name>.pem` and stores the certificate on the card.
fn enroll(card: &SimCard, ca: &TestCa, dir: &Path, slot: &str, algorithm: &str, name: &str) {
    let public = format!("{name}.pub.pem");
    let generate = ["card", "generate", "--slot", slot, "--algorithm", algorithm];
    smime_card_ok(card, dir, &[&generate[..], &["--out", &public]].concat());
    let profile = match slot {
        "9c" => Profile::signing("/CN=Alice", "alice@example.org"),
        _ => Profile::encryption("/CN=Bob", "bob@example.org"),
    };
    ca.certify(Path::new(&public), name, &profile);
    let cert = format!("{name}.pem");
    smime_card_ok(
        card,
        dir,
        &["card", "import-cert", "--slot", slot, "--in", &cert],
    );
}

/// What process `p` says in round `r`: a line no other process or round has.
fn line(p: usize, r: usize) -> String {
    format!(
        "process {p}, round {r}: the plans are in drawer {}.",
        p * ROUNDS + r
    )
}

#[test]
fn processes_signing_and_decrypting_at_once_each_get_their_own_answers() {
    let card = SimCard::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = TestCa::new(d);
    enroll(&card, &ca, d, "9c", "p256", "alice");
    enroll(&card, &ca, d, "9d", "rsa2048", "bob");
    for p in 0..PROCESSES {
        for r in 0..ROUNDS {
            let mail = format!(
                "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: {p}.{r}\r\n\r\n{}\r\n",
                line(p, r)
            );
            std::fs::write(d.join(format!("mail-{p}-{r}.txt")), mail).unwrap();
            let content = format!("Content-Type: text/plain\r\n\r\n{}\r\n", line(p, r));
            std::fs::write(d.join(format!("content-{p}-{r}.txt")), content).unwrap();
            let (content, sealed) = (
                format!("content-{p}-{r}.txt"),
                format!("sealed-{p}-{r}.eml"),
            );
            test_pki::encrypt_mail(d, &content, &sealed, &["-aes256"], "bob.pem", &[]);
        }
    }

    // Each process closes with a reset (it logged in), which the others meet mid-work.
    thread::scope(|s| {
        for p in 0..PROCESSES {
            let card = &card;
            s.spawn(move || {
                for r in 0..ROUNDS {
                    let (mail, signed) =
                        (format!("mail-{p}-{r}.txt"), format!("signed-{p}-{r}.eml"));
                    let sign = ["sign", "--slot", "9c", "--pin-env", "PIN"];
                    smime_card_ok(
                        card,
                        d,
                        &[&sign[..], &["--in", &mail, "--out", &signed]].concat(),
                    );
                    let (sealed, plain) =
                        (format!("sealed-{p}-{r}.eml"), format!("plain-{p}-{r}.eml"));
                    let decrypt = [
                        "decrypt",
                        "--pin-env",
                        "PIN",
                        "--in",
                        &sealed,
                        "--out",
                        &plain,
                    ];
                    smime_card_ok(card, d, &decrypt);
                }
            });
        }
    });

    for p in 0..PROCESSES {
        for r in 0..ROUNDS {
            let signed = format!("signed-{p}-{r}.eml");
            let verified = test_pki::verify_mail(d, &signed, &ca.cert());
            assert!(
                verified.status.success(),
                "{signed}: {}",
                output_text(&verified)
            );
            let content = std::fs::read_to_string(d.join("content.out")).unwrap();
            assert!(
                content.contains(&line(p, r)),
                "{signed} signs its own mail: {content}"
            );

            let plain = std::fs::read_to_string(d.join(format!("plain-{p}-{r}.eml"))).unwrap();
            let content = std::fs::read_to_string(d.join(format!("content-{p}-{r}.txt"))).unwrap();
            assert!(
                plain.ends_with(&content),
                "plain-{p}-{r}.eml is its own mail: {plain}"
            );
        }
    }
}

/// SELECT, then GET DATA of `object` with GET RESPONSE until the card has sent it all:
/// the whole object, or the status word that ended it.
fn read_object(
    transmit: &mut dyn FnMut(&[u8]) -> Response,
    object: ObjectId,
) -> Result<Vec<u8>, StatusWord> {
    let send = |transmit: &mut dyn FnMut(&[u8]) -> Response, apdu: CommandApdu| {
        transmit(&apdu.encode().unwrap())
    };
    let selected = send(transmit, Select::piv().to_apdu());
    if !selected.sw.is_success() {
        return Err(selected.sw);
    }
    let mut response = send(transmit, GetData { object }.to_apdu());
    let mut data = std::mem::take(&mut response.data);
    while response.sw.remaining().is_some() {
        response = send(transmit, GetResponse { length: 256 }.to_apdu());
        data.extend_from_slice(&response.data);
    }
    if response.sw.is_success() {
        Ok(data)
    } else {
        Err(response.sw)
    }
}

/// Disconnects without the reset pcsc's drop makes: the other thread would meet it.
fn leave(card: pcsc::Card) {
    card.disconnect(Disposition::LeaveCard)
        .map_err(|(_, e)| e)
        .expect("disconnect");
}

/// Raw exchanges with `card`, in whatever transaction it is in.
fn transmit_on(card: &pcsc::Card) -> impl FnMut(&[u8]) -> Response + '_ {
    move |apdu| {
        let mut buffer = vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        Response::parse(card.transmit(apdu, &mut buffer).expect("transmit")).unwrap()
    }
}

#[test]
fn raw_exchanges_of_two_threads_in_transactions_each_get_their_own_answers() {
    let card = SimCard::start();
    let reader = std::ffi::CString::new(card.reader.name).unwrap();
    let connect = || {
        let ctx = Context::establish(Scope::User).expect("pcscd runs");
        ctx.connect(&reader, ShareMode::Shared, Protocols::ANY)
            .expect("connect to the card")
    };
    // The CHUID fits one answer; the attestation certificate needs GET RESPONSE, so an
    // answer meant for the other thread would show as a wrong chunk as well.
    let objects = [ObjectId::CHUID, ObjectId::YUBICO_ATTESTATION_CERT];
    let expected: Vec<Vec<u8>> = {
        let card = connect();
        let read = objects
            .iter()
            .map(|object| read_object(&mut transmit_on(&card), *object).unwrap())
            .collect();
        leave(card);
        read
    };
    assert_ne!(expected[0], expected[1]);
    assert!(
        expected[1].len() > 256,
        "the certificate takes more than one answer"
    );

    thread::scope(|s| {
        for (object, expected) in objects.iter().zip(&expected) {
            s.spawn(move || {
                let mut pcsc_card = connect();
                for round in 0..RAW_ROUNDS {
                    let tx = pcsc_card.transaction().expect("begin a transaction");
                    let read = read_object(&mut transmit_on(&tx), *object);
                    tx.end(Disposition::LeaveCard)
                        .map_err(|(_, e)| e)
                        .expect("end it");
                    assert_eq!(read.as_ref(), Ok(expected), "{object}, round {round}");
                }
                leave(pcsc_card);
            });
        }
    });
}
