//! Multi-node test rig.
