#include "engine/model/model.h"

#include "core/error.h"
#include "engine/model/arch.h"
#include "engine/model/loader.h"

namespace hearth::model {

std::shared_ptr<const Model> Model::load(const std::filesystem::path& path) {
  return from_file(gguf::File::open(path));
}

std::shared_ptr<const Model> Model::from_file(gguf::File file) {
  const std::optional<std::string> arch = file.get_string("general.architecture");
  if (!arch)
    throw Error(ErrorKind::corrupt_file,
                file.name() + ": metadata key general.architecture is missing");
  const ArchSpec& spec = find_arch(*arch, file.name());
  Hparams hp = read_hparams(file, spec);
  tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_gguf(file);

  // The Model owns the File before any view into it is taken (moving a File keeps its mapping).
  std::shared_ptr<Model> m(new Model(std::move(file), std::move(tok)));
  const TensorLoader l(m->file_, hp.arch);
  ModelWeights& w = m->weights_;

  hp.n_vocab = m->tokenizer_.n_vocab();
  w.token_embd = l.matrix("token_embd.weight", hp.n_embd, hp.n_vocab);
  w.output_norm = l.vector("output_norm.weight", hp.n_embd);
  w.output =
      l.has("output.weight") ? l.matrix("output.weight", hp.n_embd, hp.n_vocab) : w.token_embd;
  if (spec.load_extras != nullptr) spec.load_extras(l, hp, w);

  w.layers.resize(static_cast<size_t>(hp.n_layer));
  for (int il = 0; il < hp.n_layer; ++il) {
    LayerWeights& layer = w.layers[static_cast<size_t>(il)];
    layer.attn_norm = l.vector(layer_tensor(il, "attn_norm.weight"), hp.n_embd);
    layer.wo = l.matrix(layer_tensor(il, "attn_output.weight"), hp.n_q_dim(), hp.n_embd);
    layer.ffn_norm = l.vector(layer_tensor(il, "ffn_norm.weight"), hp.n_embd);
    spec.load_layer(l, hp, il, layer);
  }
  m->hparams_ = std::move(hp);
  return m;
}

}  // namespace hearth::model
