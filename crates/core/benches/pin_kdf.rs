//! How long an offline search of every six-digit PIN takes on this machine, against the device
//! key's PIN file: Argon2id at the PIN file's cost, as many derivations at once as there are
//! cores (what an attacker with a copy of the file would run), beside the argon2 crate's
//! defaults that older builds used.
//!
//! Run: `cargo bench -p kintara-core --bench pin_kdf` (`-- --quick` for fewer rounds).

use std::time::Instant;

use kintara_core::vault::PinKdf;

/// Derivations per second with every core busy.
fn guesses_per_second(kdf: PinKdf, per_core: usize) -> (f64, f64) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let began = Instant::now();
    std::thread::scope(|s| {
        for c in 0..cores {
            s.spawn(move || {
                let mut key = [0u8; 32];
                for i in 0..per_core {
                    let pin = format!("{:06}", c * per_core + i);
                    kdf.argon2()
                        .hash_password_into(pin.as_bytes(), &[9u8; 16], &mut key)
                        .expect("derivation");
                }
            });
        }
    });
    let secs = began.elapsed().as_secs_f64();
    let total = (cores * per_core) as f64;
    (total / secs, secs / per_core as f64)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!();
    println!("==================== PIN key derivation (Argon2id) ====================");
    println!("  {cores} core(s); all 1 000 000 six-digit PINs tried, every core busy:");
    for (kdf, label, per_core) in [
        (
            PinKdf::Default,
            "argon2 defaults (19 MiB, 2 passes; older builds)",
            if quick { 20 } else { 100 },
        ),
        (
            PinKdf::Tuned,
            "the PIN file's cost (128 MiB, 6 passes)",
            if quick { 3 } else { 12 },
        ),
    ] {
        let (rate, each) = guesses_per_second(kdf, per_core);
        let days = 1_000_000.0 / rate / 86_400.0;
        println!(
            "  {label}: {:.0} ms per guess, {rate:.1} guesses/s -> {days:.2} days ({:.1} h)",
            each * 1000.0,
            days * 24.0
        );
    }
    println!("=======================================================================");
}
