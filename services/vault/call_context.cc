#include "services/vault/call_context.h"

namespace byok::vault {
namespace {

thread_local const CallInfo* current_call = nullptr;

}  // namespace

const CallInfo* CurrentCall() { return current_call; }

ScopedCall::ScopedCall(const CallInfo* call) : previous_(current_call) { current_call = call; }

ScopedCall::~ScopedCall() { current_call = previous_; }

}  // namespace byok::vault
