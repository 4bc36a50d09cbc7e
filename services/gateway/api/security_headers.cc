#include "services/gateway/api/security_headers.h"

namespace byok::gateway {

const HeaderList& SecurityHeaders() {
  static const HeaderList* const kHeaders = new HeaderList{
      {"Content-Security-Policy",
       "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
       "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
       "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Origin-Agent-Cluster", "?1"},
      {"Referrer-Policy", "no-referrer"},
      {"Strict-Transport-Security", "max-age=31536000; includeSubDomains"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-DNS-Prefetch-Control", "off"},
      {"X-Download-Options", "noopen"},
      {"X-Frame-Options", "SAMEORIGIN"},
      {"X-Permitted-Cross-Domain-Policies", "none"},
      {"X-XSS-Protection", "0"},
  };
  return *kHeaders;
}

}  // namespace byok::gateway
