#pragma once
#include <stdexcept>

namespace hubstress {

// A failure during a run that the CLI reports in one line (exit 128).
class HubError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// The hub refused the token (403): bad token or missing scopes.
class AuthError : public HubError {
public:
  using HubError::HubError;
};

// The user asked the run to stop (SIGINT/SIGTERM); what the run made is torn down before it ends.
class Interrupted : public HubError {
public:
  using HubError::HubError;
};

} // namespace hubstress
