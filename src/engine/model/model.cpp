#include "engine/model/model.h"

#include "core/config.h"
#include "core/error.h"
#include "engine/model/arch.h"
#include "engine/model/loader.h"

namespace hearth::model {

std::shared_ptr<const Model> Model::load(const std::filesystem::path& path) {
  // HEARTH_MMAP=auto reads the weights into memory on huge pages when they fit (gguf.h).
  const std::string mmap = config::get("HEARTH_MMAP");
  if (mmap != "auto" && mmap != "on")
    throw Error(ErrorKind::invalid_input, "HEARTH_MMAP is \"" + mmap + "\": use auto or on");
  return from_file(gguf::File::open(path, mmap == "auto"));
}

std::shared_ptr<const Model> Model::from_file(gguf::File file) {
  Hparams hp = describe(file);
  const ArchSpec& spec = *find_arch(hp.arch);  // describe() refuses architectures not in the table
  tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_gguf(file);

  // The Model owns the File before any view into it is taken (moving a File keeps its mapping).
  std::shared_ptr<Model> m(new Model(std::move(file), std::move(tok)));
  const TensorLoader l(m->file_, hp.arch);
  hp.n_vocab = m->tokenizer_.n_vocab();
  load_weights(l, spec, hp, m->weights_);
  m->hparams_ = std::move(hp);
  return m;
}

}  // namespace hearth::model
