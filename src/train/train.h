// The train module's API (DESIGN.md §2): LoRA fine-tuning on a frozen base model.
//   adapter_file.h  LoRA adapters as GGUF files in llama.cpp's layout (read and write)
//   lora_init.h     a fresh adapter for a model: targets, rank, seeded start
//   examples.h      pre-tokenized JSONL training data
//   network.h       forward and backward of one sequence with the base frozen
//   adamw.h         the optimizer
//   schedule.h      learning-rate schedules
//   trainer.h       one training step at a time (a sequence or a batch), evaluation
#pragma once

#include "train/adamw.h"
#include "train/adapter_file.h"
#include "train/examples.h"
#include "train/lora_init.h"
#include "train/network.h"
#include "train/schedule.h"
#include "train/trainer.h"
