//! `usine key generate`: a new key, and what to do with it on the chosen site.

use std::path::PathBuf;

use clap::Args;
use usine_core::sites;
use usine_core::ssh::keygen::{self, Passphrase};
use zeroize::Zeroizing;

#[derive(Args)]
pub struct GenerateArgs {
    /// Where to write the private key (the public key goes next to it, with .pub).
    #[arg(long, default_value_os_t = keygen::default_path())]
    path: PathBuf,
    /// Text stored in the public key to recognise it (e.g. your e-mail).
    #[arg(long, default_value = "usine")]
    comment: String,
    /// Choose the passphrase yourself (read from the terminal) instead of a generated one
    /// kept in the keychain.
    #[arg(long)]
    ask_passphrase: bool,
    /// Show how to register the key on this site (lumi, jupiter, …).
    #[arg(long)]
    site: Option<String>,
}

pub async fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let passphrase = match args.ask_passphrase {
        true => Passphrase::Chosen(ask_passphrase()?),
        false => Passphrase::Generated,
    };
    let key = keygen::generate_ed25519(&args.path, &args.comment, passphrase).await?;
    print_key(&key);
    print_where_to_register(args.site.as_deref());
    Ok(())
}

/// A passphrase typed twice the same.
fn ask_passphrase() -> anyhow::Result<Zeroizing<String>> {
    let p = Zeroizing::new(rpassword::prompt_password("Passphrase for the new key: ")?);
    let again = Zeroizing::new(rpassword::prompt_password("The same passphrase again: ")?);
    if p != again {
        anyhow::bail!("the two passphrases differ; nothing was written");
    }
    Ok(p)
}

fn print_key(key: &keygen::GeneratedKey) {
    println!(
        "New key: {} (fingerprint {})",
        key.private_path.display(),
        key.fingerprint
    );
    println!(
        "{}",
        if key.passphrase_in_keychain {
            "Its passphrase is in your system keychain: you will not have to type it."
        } else {
            "Its passphrase is NOT in a keychain: keep it somewhere safe."
        }
    );
    println!(
        "\nYour public key (safe to share):\n{}\n",
        key.public_openssh
    );
}

/// How to register the key on the site, from the catalogue.
fn print_where_to_register(site: Option<&str>) {
    match site.map(|id| sites::find(id).ok_or(id)) {
        Some(Ok(site)) => {
            println!("To use it on {}: {}", site.name, site.key_instructions);
            if !site.key_portal.is_empty() {
                println!("Portal: {}", site.key_portal);
            }
        }
        Some(Err(id)) => println!("(No site “{id}” in the catalogue.)"),
        None => println!(
            "Register it on your site's portal; `--site NAME` shows how for catalogue sites."
        ),
    }
}
