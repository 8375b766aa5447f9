use judgeflow_llm::{ApiKey, EndpointConfig, LlmClient};

const KEY: &str = "sk-very-secret-0123456789";

#[test]
fn debug_output_never_shows_the_key_or_header_values() {
    let mut config =
        EndpointConfig::new("https://api.openai.com/v1", "gpt-4o-mini").with_api_key(KEY);
    config
        .headers
        .push(("x-upstream-token".into(), "tok-also-secret".into()));

    let key_debug = format!("{:?}", ApiKey::new(KEY));
    let config_debug = format!("{config:?}");
    let pretty = format!("{config:#?}");

    for text in [&key_debug, &config_debug, &pretty] {
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains("very-secret"), "{text}");
        assert!(!text.contains("tok-also-secret"), "{text}");
    }
    assert!(config_debug.contains("x-upstream-token"));
    assert!(config_debug.contains("redacted"));
    // The client still holds the real key.
    let client = LlmClient::new(config).unwrap();
    assert_eq!(client.config().api_key.as_ref().unwrap().expose(), KEY);
}
