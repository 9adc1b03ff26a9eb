#include "cli/model_init.h"

#include "common/base/status_macros.h"
#include "common/model/checkpoint.h"
#include "common/model/parameters.h"
#include "common/tokenizer/byte_level_tokenizer.h"

namespace flywheel::cli {

absl::StatusOr<int64_t> WriteRandomModelDir(const std::string& preset, uint64_t seed,
                                            const std::string& out_dir) {
  ASSIGN_OR_RETURN(model::ModelConfig config, model::PresetConfig(preset));
  model::ModelWeights w = model::RandomModel(config, seed);
  RETURN_IF_ERROR(model::SaveModelDir(out_dir, w.config, w.params.data()));
  RETURN_IF_ERROR(tokenizer::WriteByteLevelTokenizer(out_dir));
  return static_cast<int64_t>(model::ParameterLayout(w.config).num_params());
}

}  // namespace flywheel::cli
