//! The UI's table of commands, generated from the `#[tauri::command]` functions themselves:
//! each command's name, its arguments (named as Tauri names them, camelCase) and its result, in
//! `ui/src/lib/commands.ts`, which `ipc.ts` calls through. Renaming a command, an argument or a
//! type in Rust changes the table, and `tsc` then fails wherever the UI used the old one.
//!
//! Why not tauri-specta: it is still a release candidate for Tauri 2 and would need a second
//! derive (specta's) on every type the core already declares with ts-rs. The signatures carry
//! all the table needs; the types they name are the ones `bindings.ts` declares, and a name
//! that `bindings.ts` (or this crate's own few types) does not declare fails the test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use syn::{FnArg, GenericArgument, Item, Pat, PathArguments, ReturnType, Type};
use ts_rs::{Config, TS};

/// Parameters Tauri fills in itself; they are not the UI's to send.
const INJECTED: [&str; 5] = ["State", "AppHandle", "Window", "WebviewWindow", "Webview"];

/// One command as the UI sees it.
struct Command {
    name: String,
    args: Vec<(String, String)>,
    result: String,
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The `module::function` paths registered in `generate_handler!`, in order.
fn registered(lib_rs: &str) -> Vec<String> {
    let start = lib_rs
        .find("generate_handler![")
        .expect("lib.rs registers its commands");
    let list = &lib_rs[start + "generate_handler![".len()..];
    let list = &list[..list.find(']').expect("the list ends")];
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `snake_case` → `camelCase`, as Tauri names a command's arguments.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        match (c, upper) {
            ('_', _) => upper = true,
            (c, true) => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            (c, false) => out.push(c),
        }
    }
    out
}

/// The TypeScript for a Rust type of a signature; the names it needs go to `used`.
fn ts(ty: &Type, used: &mut BTreeSet<String>) -> Result<String, String> {
    match ty {
        Type::Reference(r) => ts(&r.elem, used),
        Type::Tuple(t) if t.elems.is_empty() => Ok("void".into()),
        Type::Path(p) => {
            let last = p.path.segments.last().ok_or("an empty path")?;
            let inner = || match &last.arguments {
                PathArguments::AngleBracketed(a) => a
                    .args
                    .iter()
                    .find_map(|g| match g {
                        GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .ok_or_else(|| format!("{} without its type", last.ident)),
                _ => Err(format!("{} without its type", last.ident)),
            };
            Ok(match last.ident.to_string().as_str() {
                "String" | "str" | "PathBuf" | "Path" => "string".into(),
                "bool" => "boolean".into(),
                "u8" | "u16" | "u32" | "u64" | "usize" | "i32" | "i64" | "f32" | "f64" => {
                    "number".into()
                }
                "Option" => format!("{} | null", ts(inner()?, used)?),
                "Vec" => format!("Array<{}>", ts(inner()?, used)?),
                "Result" => ts(inner()?, used)?,
                "Channel" => format!("Channel<{}>", ts(inner()?, used)?),
                name => {
                    used.insert(name.to_owned());
                    name.to_owned()
                }
            })
        }
        _ => Err("a type the table cannot write (an array, a tuple, impl Trait)".into()),
    }
}

/// The command `function` of `file`, read from its signature.
fn command(file: &Path, function: &str, used: &mut BTreeSet<String>) -> Result<Command, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let parsed = syn::parse_file(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let f = parsed
        .items
        .iter()
        .find_map(|item| match item {
            Item::Fn(f) if f.sig.ident == function => Some(f),
            _ => None,
        })
        .ok_or_else(|| format!("no fn {function} in {}", file.display()))?;
    let mut args = Vec::new();
    for input in &f.sig.inputs {
        let FnArg::Typed(arg) = input else {
            return Err(format!("{function} takes self"));
        };
        let injected = match &*arg.ty {
            Type::Path(p) => p
                .path
                .segments
                .last()
                .is_some_and(|s| INJECTED.contains(&s.ident.to_string().as_str())),
            _ => false,
        };
        let Pat::Ident(name) = &*arg.pat else {
            return Err(format!("{function}: an argument without a plain name"));
        };
        if !injected {
            let name = camel(name.ident.to_string().trim_start_matches('_'));
            args.push((
                name,
                ts(&arg.ty, used).map_err(|e| format!("{function}: {e}"))?,
            ));
        }
    }
    let result = match &f.sig.output {
        ReturnType::Default => "void".into(),
        ReturnType::Type(_, ty) => ts(ty, used).map_err(|e| format!("{function}: {e}"))?,
    };
    Ok(Command {
        name: function.to_owned(),
        args,
        result,
    })
}

/// This crate's own types that commands take or give, declared next to the table.
fn own_types() -> Vec<String> {
    let cfg = Config::new();
    vec![
        crate::commands::QuestionAnswer::decl(&cfg),
        crate::opened::OpenedScript::decl(&cfg),
        crate::updates::UpdateStatus::decl(&cfg),
        crate::updates::UpdateDownload::decl(&cfg),
    ]
}

/// `commands.ts`, from the sources under `src` and the names `bindings.ts` declares.
fn typescript_module(src: &Path, bindings: &str) -> Result<String, String> {
    let lib_rs = std::fs::read_to_string(src.join("lib.rs")).map_err(|e| e.to_string())?;
    let mut used = BTreeSet::new();
    let mut commands = Vec::new();
    for path in registered(&lib_rs) {
        let (module, function) = path.rsplit_once("::").unwrap_or(("lib", &path));
        commands.push(command(
            &src.join(format!("{module}.rs")),
            function,
            &mut used,
        )?);
    }
    let own = own_types();
    let own_names: BTreeSet<String> = own
        .iter()
        .filter_map(|d| d.strip_prefix("type ")?.split([' ', '<']).next())
        .map(str::to_owned)
        .collect();
    let declared = |name: &String| bindings.contains(&format!("export type {name} "));
    // What this crate's types refer to (an update's details) comes from bindings.ts too.
    for word in own
        .iter()
        .flat_map(|d| d.split(|c: char| !c.is_alphanumeric()))
    {
        if word.starts_with(char::is_uppercase) && declared(&word.to_owned()) {
            used.insert(word.to_owned());
        }
    }
    let from_bindings: Vec<&String> = used.iter().filter(|n| !own_names.contains(*n)).collect();
    if let Some(missing) = from_bindings.iter().find(|n| !declared(n)) {
        return Err(format!(
            "a command uses `{missing}`, which bindings.ts does not declare: export it from \
             the core's ipc_types, or name it in Rust as bindings.ts names it (`use … as …`)"
        ));
    }
    let mut out = String::from(
        "// Generated from the #[tauri::command] signatures in src-tauri by `ipc_contract`.\n\
         // Do not edit: run `UPDATE_BINDINGS=1 cargo test -p usine-app ipc_contract` instead.\n\
         import type { Channel } from \"@tauri-apps/api/core\";\n",
    );
    let names: Vec<&str> = from_bindings.iter().map(|s| s.as_str()).collect();
    out.push_str(&format!(
        "import type {{ {} }} from \"./bindings\";\n",
        names.join(", ")
    ));
    for decl in own {
        out.push_str(&format!("\nexport {decl}\n"));
    }
    out.push_str("\n/** Every command: its arguments (as sent) and what it answers. */\nexport type Commands = {\n");
    for c in &commands {
        let args = match c.args.is_empty() {
            true => "Record<string, never>".to_owned(),
            false => {
                let fields: Vec<String> = c.args.iter().map(|(n, t)| format!("{n}: {t}")).collect();
                format!("{{ {} }}", fields.join("; "))
            }
        };
        out.push_str(&format!(
            "  {}: {{ args: {args}; result: {} }};\n",
            c.name, c.result
        ));
    }
    out.push_str("};\n");
    Ok(out)
}

#[test]
fn checked_in_command_table_matches_the_commands() {
    let ui = src().join("../../ui/src/lib");
    let bindings = std::fs::read_to_string(ui.join("bindings.ts")).unwrap();
    let fresh = typescript_module(&src(), &bindings).unwrap();
    let refresh = "cargo test -p usine-app ipc_contract";
    usine_core::ipc_types::keep_generated(&ui.join("commands.ts"), &fresh, refresh).unwrap();
}

#[test]
fn signatures_become_typescript() {
    let mut used = BTreeSet::new();
    let ty = |s: &str| syn::parse_str::<Type>(s).unwrap();
    let mut t = |s: &str| ts(&ty(s), &mut used);
    assert_eq!(
        t("Result<Vec<ClusterView>, UiError>").unwrap(),
        "Array<ClusterView>"
    );
    assert_eq!(t("Option<u64>").unwrap(), "number | null");
    assert_eq!(t("&str").unwrap(), "string");
    assert_eq!(
        t("Channel<UpdateDownload>").unwrap(),
        "Channel<UpdateDownload>"
    );
    assert!(t("[u8; 4]").is_err());
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        ["ClusterView", "UpdateDownload"]
    );
    assert_eq!(camel("by_checksum"), "byChecksum");
    assert_eq!(camel("id"), "id");
}

#[test]
fn a_type_the_ui_does_not_know_is_refused() {
    let dir = std::env::temp_dir().join(format!("usine-ipc-contract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sources = [
        (
            "lib.rs",
            "fn run() { tauri::generate_handler![things::one]; }",
        ),
        (
            "things.rs",
            "#[tauri::command]\nfn one(state: State<'_, AppState>, job_id: String) -> Result<Summary, UiError> { todo!() }",
        ),
    ];
    for (name, text) in sources {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let error = typescript_module(&dir, "export type GpuSummary = {};").unwrap_err();
    assert!(error.contains("`Summary`"), "{error}");
    let table = typescript_module(&dir, "export type Summary = {};").unwrap();
    assert!(
        table.contains("one: { args: { jobId: string }; result: Summary };"),
        "{table}"
    );
}
