//! The built-in catalogue of EuroHPC AI Factory machines (`data/sites.toml`). It is data so that
//! a wrong host or portal is fixed without touching code; unconfirmed facts are marked as such.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

const CATALOGUE: &str = include_str!("../data/sites.toml");

/// How a site lets people log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum LoginMethod {
    /// Upload a public key to the site's portal.
    Key,
    /// The site issues short-lived SSH certificates (no key upload).
    Certificate,
    /// A key, then a one-time code.
    KeyAndCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum GpuVendor {
    Nvidia,
    Amd,
}

/// A storage area the site documents for large data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(rename = "SiteStorageArea")]
pub struct StorageArea {
    /// A path, or a variable the login environment sets (`$WORK`); `<project>` stands for the
    /// project's name.
    pub path: String,
    /// What it is for, in plain words.
    pub purpose: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Partition {
    pub name: String,
    /// What it is for, in plain words.
    pub purpose: String,
}

/// The TOML file uses snake_case (like Cargo.toml); the UI receives camelCase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all(serialize = "camelCase", deserialize = "snake_case"))]
#[ts(rename_all = "camelCase")]
pub struct Site {
    pub id: String,
    pub name: String,
    pub operator: String,
    /// Login hosts; the first is the one to use.
    pub hosts: Vec<String>,
    pub port: u16,
    pub login: LoginMethod,
    /// Where the public key is registered; empty when unknown.
    pub key_portal: String,
    pub key_instructions: String,
    pub gpu_vendor: GpuVendor,
    pub gpu_model: String,
    /// `nvidia-smi` or `rocm-smi`.
    pub gpu_tool: String,
    pub partitions: Vec<Partition>,
    /// The site's command that prints the remaining budget; empty when unknown.
    pub budget_command: String,
    pub billing: String,
    /// The unit the site bills in (`core-hours`, `node-hours`); empty when unknown.
    #[serde(default)]
    pub billing_unit: String,
    /// What one GPU for one hour costs in `billing_unit`.
    #[serde(default)]
    pub billing_per_gpu_hour: Option<f64>,
    /// Where large data goes (empty where unknown).
    #[serde(default)]
    pub storage: Vec<StorageArea>,
    pub docs: String,
    /// The certificate authority of the site's browser login, where it has one.
    #[serde(default)]
    pub certificate_authority: Option<crate::browser_login::CertificateAuthority>,
    /// Field names whose value no source confirmed.
    pub unconfirmed: Vec<String>,
    /// The words shown to people, in French; [`all`] puts them in place in French.
    #[serde(skip_serializing)]
    #[ts(skip)]
    fr: Words,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Words {
    operator: String,
    key_instructions: String,
}

#[derive(Deserialize)]
struct Catalogue {
    site: Vec<Site>,
}

/// Every site in the catalogue, in catalogue order, in the language the core writes in.
pub fn all() -> Vec<Site> {
    // The catalogue is compiled in and checked by the tests below, so it always parses.
    let sites = toml::from_str::<Catalogue>(CATALOGUE)
        .map(|c| c.site)
        .unwrap_or_else(|e| panic!("data/sites.toml is invalid: {e}"));
    match crate::lang::current() {
        crate::lang::Lang::En => sites,
        crate::lang::Lang::Fr => sites
            .into_iter()
            .map(|s| Site {
                operator: s.fr.operator.clone(),
                key_instructions: s.fr.key_instructions.clone(),
                ..s
            })
            .collect(),
    }
}

pub fn find(id: &str) -> Option<Site> {
    all().into_iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &[
        "hosts",
        "port",
        "login",
        "key_portal",
        "gpu_model",
        "gpu_tool",
        "partitions",
        "budget_command",
        "billing",
        "storage",
        "docs",
        "certificate_authority",
    ];

    #[test]
    fn every_site_speaks_french() {
        let fr = crate::lang::with(crate::lang::Lang::Fr, all);
        let lumi = fr.iter().find(|s| s.id == "lumi").unwrap();
        assert!(lumi.operator.contains("Finlande"), "{}", lumi.operator);
        for (en, fr) in all().iter().zip(&fr) {
            assert_ne!(en.key_instructions, fr.key_instructions, "{}", en.id);
            assert_eq!(en.hosts, fr.hosts);
        }
    }

    #[test]
    fn the_catalogue_parses_and_ids_are_unique() {
        let sites = all();
        assert!(sites.len() >= 8);
        let mut ids: Vec<_> = sites.iter().map(|s| s.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), sites.len());
    }

    #[test]
    fn every_site_is_usable_and_honest_about_what_is_unconfirmed() {
        for site in all() {
            assert!(
                !site.hosts.is_empty() && site.hosts.iter().all(|h| h.contains('.')),
                "{}",
                site.id
            );
            assert!(site.port > 0, "{}", site.id);
            assert!(!site.key_instructions.is_empty(), "{}", site.id);
            for url in [&site.key_portal, &site.docs] {
                assert!(
                    url.is_empty() || url.starts_with("https://"),
                    "{}: {url}",
                    site.id
                );
            }
            for field in &site.unconfirmed {
                assert!(
                    FIELDS.contains(&field.as_str()),
                    "{}: unknown field {field}",
                    site.id
                );
            }
            // An unknown value must be declared unconfirmed, never left silently empty.
            if site.key_portal.is_empty() && site.login == LoginMethod::Key {
                assert!(
                    site.unconfirmed.iter().any(|f| f == "key_portal"),
                    "{}",
                    site.id
                );
            }
        }
    }

    #[test]
    fn known_facts_from_the_sites_documentation() {
        assert_eq!(find("meluxina").unwrap().port, 8822);
        assert_eq!(find("lumi").unwrap().gpu_vendor, GpuVendor::Amd);
        assert_eq!(find("leonardo").unwrap().login, LoginMethod::Certificate);
        assert_eq!(find("leonardo").unwrap().budget_command, "saldo -b");
        assert!(find("atlantis").is_none());
        let lumi = find("lumi").unwrap();
        assert_eq!(
            (lumi.billing_unit.as_str(), lumi.billing_per_gpu_hour),
            ("LUMI GPU-hours", Some(0.5))
        );
    }
}
