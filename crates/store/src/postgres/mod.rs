//! placeholder
#[derive(Debug)]
pub struct PgStore;
impl PgStore {
    pub async fn connect(_url: &str) -> Result<Self, crate::StoreError> { Err(crate::StoreError::Unavailable("x".into())) }
}
