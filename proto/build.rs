//! Compiles `tally/v1/*.proto` with protox (pure Rust), so no system `protoc` is needed,
//! and writes `schema.rs`: each message's fields as the wire scanner of `tally-model` checks
//! them (docs/PROTOCOL.md 2.5), generated from the same descriptors so the two cannot drift.

use std::fmt::Write as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["tally/v1/entry.proto", "tally/v1/sync.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["."])?;
    let mut schema = String::from(
        "/// Every message of package `tally.v1`, by full name, with its fields.\n\
         pub static MESSAGES: &[Message] = &[\n",
    );
    for file in &fds.file {
        for m in &file.message_type {
            let name = format!(".tally.v1.{}", m.name());
            writeln!(schema, "    Message {{ name: {name:?}, fields: &[")?;
            for f in &m.field {
                // FieldDescriptorProto.Type and .Label numbers (descriptor.proto).
                let kind = match f.r#type.unwrap_or_default() {
                    8 => "Kind::Bool",
                    13 => "Kind::Uint32",
                    3 | 4 | 14 => "Kind::Varint64",
                    9 => "Kind::String",
                    12 => "Kind::Bytes",
                    11 => "Kind::Message",
                    other => {
                        return Err(format!("{name}: field type {other} not in the scanner").into());
                    }
                };
                let repeated = f.label.unwrap_or_default() == 3;
                let oneof = match f.oneof_index {
                    Some(i) => format!("Some({i})"),
                    None => "None".into(),
                };
                writeln!(
                    schema,
                    "        Field {{ number: {}, kind: {kind}, repeated: {repeated}, message: {:?}, oneof: {oneof} }},",
                    f.number(),
                    f.type_name(),
                )?;
            }
            writeln!(schema, "    ] }},")?;
        }
    }
    schema.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("schema.rs"), schema)?;
    prost_build::Config::new().bytes(["."]).compile_fds(fds)?;
    Ok(())
}
