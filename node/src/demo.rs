//! `tally demo`: a local three-node network with sample data.
pub async fn run(_dir: Option<std::path::PathBuf>, _base_port: u16) -> anyhow::Result<()> {
    anyhow::bail!("demo: not yet built")
}
