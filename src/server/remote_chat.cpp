// See remote_chat.h.
#include "server/remote_chat.h"

#include "core/log.h"
#include "loop/remote_http.h"
#include "loop/remote_settings.h"
#include "server/json_util.h"
#include "server/response_stream.h"

namespace hearth::server {

loop::RemoteAccess remote_access_for(ApiContext& api, const Request& http,
                                     const library::ResolvedModel& model) {
  const std::string label = "'" + model.name + "' version " + std::to_string(model.version);
  const auto access = loop::remote_access(api.db, http.caller.user_id);
  if (!access)
    throw Error(ErrorKind::unavailable, label + " is served by " + model.remote_base_url +
                                            ", but you have no remote trainer key any more; set it "
                                            "again with PUT /api/training/remote");
  if (access->base_url != model.remote_base_url)
    throw Error(ErrorKind::unavailable,
                label + " is served by " + model.remote_base_url +
                    ", but your remote trainer settings now name " + access->base_url +
                    "; set that URL again with PUT /api/training/remote to use this version");
  return *access;
}

void end_failed_forwarding(ResponseStream& out, bool started, const std::string& path,
                           const std::string& model, const std::exception& e) {
  SPDLOG_WARN("remote chat for {}: {}", model, e.what());
  if (started) {
    out.finish();
    return;
  }
  out.respond(error_response(path, 503, ErrorKind::unavailable,
                             std::string("the remote serving this model failed: ") + e.what()));
}

Response forward_remote_chat(ApiContext& api, const Request& http, json::object body,
                             const library::ResolvedModel& model) {
  const loop::RemoteAccess access = remote_access_for(api, http, model);
  body["model"] = model.remote_model;
  const bool stream =
      body.contains("stream") && body.at("stream").is_bool() && body.at("stream").as_bool();
  auto out = std::make_shared<ResponseStream>();
  const std::string text = json_text(body);
  const std::string path = http.path();
  const std::string name = model.name;
  // The remote call blocks: off the I/O thread, as a background task of the server.
  api.library.run_in_background(
      [out, access, text, path, stream, name](const std::function<bool()>& stopping) {
        const loop::RemoteApi remote(access);
        std::string whole;  // a whole answer, or an error's body
        bool started = false;
        try {
          const long status = remote.post_raw(
              "/chat/completions", text,
              [&](long code, std::string_view bytes) {
                if (stream && code >= 200 && code <= 299) {
                  if (!started)
                    out->start(static_cast<int>(code), "text/event-stream",
                               {{"Cache-Control", "no-cache"}});
                  started = true;
                  out->write(std::string(bytes));
                } else if (whole.size() < (16u << 20)) {
                  whole.append(bytes);
                }
              },
              [&] { return out->cancelled() || stopping(); });
          if (started) {
            out->finish();
            return;
          }
          Response r;
          r.status = static_cast<int>(status);
          r.body = std::move(whole);
          out->respond(r);
        } catch (const std::exception& e) {
          end_failed_forwarding(*out, started, path, name, e);
        }
      });
  Response r;
  r.stream = std::move(out);
  return r;
}

}  // namespace hearth::server
