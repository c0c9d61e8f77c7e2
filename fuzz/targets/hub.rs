//! The emulator's request bodies: the first byte picks a registration API, the rest is the
//! body. A body is answered, never a panic: accepted as a task (whose result then reads), or
//! refused with a 4xx.

use std::sync::LazyLock;

use pmhlink_hub_mock::fuzzing::Hub;

static HUB: LazyLock<Hub> = LazyLock::new(Hub::new);

pub fn run(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let apis = HUB.registration_apis();
    let api = apis[usize::from(selector) % apis.len()];
    let answers = HUB.register(api, body);
    assert!(
        answers.register.is_success() || answers.register.is_client_error(),
        "a body is answered 2xx or 4xx, not {}",
        answers.register
    );
    if answers.register.is_success() {
        assert_eq!(
            answers.result.map(|s| s.as_u16()),
            Some(200),
            "a registered task's result reads"
        );
    }
}
