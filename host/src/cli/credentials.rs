//! `stepwasm aws-credentials`: asks a running server's admin API for a tenant's AWS
//! credentials (`POST /v1/tenants/{id}/aws-credentials`) and prints them as the AWS CLI's
//! environment variables. The admin key comes from `STEPWASM_ADMIN_KEY`, never argv
//! (process lists show arguments).

use serde_json::Value;

use super::serve::ADMIN_KEY_ENV;

/// Arguments of `stepwasm aws-credentials`.
#[derive(Debug, clap::Args)]
pub struct CredentialsArgs {
    /// The tenant that gets the credentials.
    #[arg(long)]
    pub tenant: String,
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
}

/// Runs the command; returns the exit code.
pub fn main(args: CredentialsArgs) -> i32 {
    match run(&args) {
        Ok(text) => {
            print!("{text}");
            super::EXIT_OK
        }
        Err(e) => {
            eprintln!("stepwasm: {e}");
            super::EXIT_INVALID
        }
    }
}

fn run(args: &CredentialsArgs) -> Result<String, String> {
    let admin = std::env::var(ADMIN_KEY_ENV)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| format!("set {ADMIN_KEY_ENV} to the server's admin key"))?;
    let url = format!(
        "{}/v1/tenants/{}/aws-credentials",
        args.server.trim_end_matches('/'),
        args.tenant
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .post(&url)
        .header("authorization", format!("Bearer {admin}"))
        .send_empty()
        .map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    let body: Value = resp
        .body_mut()
        .read_json()
        .map_err(|e| format!("{url}: answer is not JSON: {e}"))?;
    if status != 201 {
        return Err(format!(
            "{url}: {} {}",
            body["error"].as_str().unwrap_or("error"),
            body["message"].as_str().unwrap_or("")
        ));
    }
    let field = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    Ok(format!(
        "export AWS_ACCESS_KEY_ID={}\nexport AWS_SECRET_ACCESS_KEY={}\nexport AWS_DEFAULT_REGION={}\nexport AWS_ENDPOINT_URL_SFN={}\nexport AWS_DISABLE_HOST_PREFIX_INJECTION=true\n",
        field("accessKeyId"),
        field("secretAccessKey"),
        field("region"),
        args.server.trim_end_matches('/'),
    ))
}
