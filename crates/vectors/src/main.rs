//! `cargo run -p tally-vectors -- docs/vectors`: writes the conformance vectors.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "docs/vectors".to_string()),
    );
    std::fs::create_dir_all(&dir)?;
    for (name, text) in tally_vectors::generate() {
        std::fs::write(dir.join(name), text)?;
        println!("wrote {}", dir.join(name).display());
    }
    Ok(())
}
