//! Sentence embeddings of movie overviews with all-MiniLM-L6-v2, computed natively:
//! candle's BERT over the model folder's safetensors, mean pooling over the attention mask,
//! then L2 normalisation (the sentence-transformers recipe in the folder's `1_Pooling`).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The model's width: every embedding has this many values.
pub const EMBEDDING_DIM: usize = 384;
/// sentence-transformers' `max_seq_length` for this model (`sentence_bert_config.json`).
pub const MAX_TOKENS: usize = 256;
/// The model folder beside a checkout (../shared/models), relative to the package root.
pub const MODEL_DIR: &str = "../shared/models/all-MiniLM-L6-v2";
/// The variable that names another model folder, for the CLI and the tests alike.
pub const MODEL_DIR_VAR: &str = "MOVIE_GENIE_MODEL";

/// The model folder the tests load: `$MOVIE_GENIE_MODEL`, else [`MODEL_DIR`]. A relative path
/// is from the working directory, which `cargo test` sets to the package root; a path baked in
/// at compile time would name whichever checkout built the test binary first.
pub fn model_dir() -> PathBuf {
    std::env::var_os(MODEL_DIR_VAR).map_or_else(|| MODEL_DIR.into(), PathBuf::from)
}

/// Why the sentence model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("model folder {path}: cannot read {file}: {message}")]
    Unreadable {
        path: PathBuf,
        file: &'static str,
        message: String,
    },
    #[error("model folder {path}: expected a {expected}-d model, got hidden_size {got}")]
    WrongWidth {
        path: PathBuf,
        expected: usize,
        got: usize,
    },
    #[error("embedding failed: {0}")]
    Run(String),
}

/// all-MiniLM-L6-v2 ready to embed text on the CPU.
pub struct SentenceEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl SentenceEmbedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `folder`.
    pub fn load(folder: &Path) -> Result<Self, EmbedError> {
        let unreadable = |file: &'static str, message: String| EmbedError::Unreadable {
            path: folder.to_owned(),
            file,
            message,
        };
        let config_text = std::fs::read_to_string(folder.join("config.json"))
            .map_err(|e| unreadable("config.json", e.to_string()))?;
        let config: Config = serde_json::from_str(&config_text)
            .map_err(|e| unreadable("config.json", format!("not a BERT config: {e}")))?;
        let width = serde_json::from_str::<serde_json::Value>(&config_text)
            .ok()
            .and_then(|v| v["hidden_size"].as_u64())
            .unwrap_or(0) as usize;
        if width != EMBEDDING_DIM {
            return Err(EmbedError::WrongWidth {
                path: folder.to_owned(),
                expected: EMBEDDING_DIM,
                got: width,
            });
        }
        let mut tokenizer = Tokenizer::from_file(folder.join("tokenizer.json"))
            .map_err(|e| unreadable("tokenizer.json", e.to_string()))?;
        // tokenizer.json ships truncation and fixed padding at 128; the reference
        // (sentence-transformers) truncates at 256 and pads each batch to its longest.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| unreadable("tokenizer.json", e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        let weights = folder.join("model.safetensors");
        if !weights.is_file() {
            return Err(unreadable("model.safetensors", "no such file".into()));
        }
        let device = Device::Cpu;
        // SAFETY: the file is memory-mapped read-only and not modified while the model lives.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| unreadable("model.safetensors", e.to_string()))?;
        let model = BertModel::load(vb, &config)
            .map_err(|e| unreadable("model.safetensors", e.to_string()))?;
        Ok(Self {
            model,
            tokenizer,
            device,
        })
    }

    /// The tokenizer's vocabulary, `(token, id)` in id order.
    pub fn vocabulary(&self) -> Vec<(String, u32)> {
        let mut vocab: Vec<(String, u32)> = self.tokenizer.get_vocab(false).into_iter().collect();
        vocab.sort_by_key(|&(_, id)| id);
        vocab
    }

    /// Embeds each token id alone, as the sentence `[CLS] token [SEP]`, into unit vectors: a
    /// static embedding's table (each token's meaning without context).
    ///
    /// # Shapes
    /// - output: `ids.len()` vectors of [`EMBEDDING_DIM`]
    pub fn embed_tokens(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let run = |e: &dyn std::fmt::Display| EmbedError::Run(e.to_string());
        let special = |name: &str| {
            self.tokenizer
                .token_to_id(name)
                .ok_or_else(|| EmbedError::Run(format!("the tokenizer has no {name} token")))
        };
        let (cls, sep) = (special("[CLS]")?, special("[SEP]")?);
        let sequences: Vec<u32> = ids.iter().flat_map(|&id| [cls, id, sep]).collect();
        let ids = Tensor::from_vec(sequences, (ids.len(), 3), &self.device).map_err(|e| run(&e))?;
        let types = ids.zeros_like().map_err(|e| run(&e))?;
        let mask = ids.ones_like().map_err(|e| run(&e))?;
        self.pool(&ids, &types, &mask)
    }

    /// Embeds a batch of texts into unit vectors.
    ///
    /// # Shapes
    /// - output: `texts.len()` vectors of [`EMBEDDING_DIM`]
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let run = |e: &dyn std::fmt::Display| EmbedError::Run(e.to_string());
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| run(&e))?;
        let len = encodings[0].get_ids().len();
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings
                .iter()
                .flat_map(|e| f(e).iter().copied())
                .collect()
        };
        let shape = (texts.len(), len);
        let ids =
            Tensor::from_vec(flat(&|e| e.get_ids()), shape, &self.device).map_err(|e| run(&e))?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), shape, &self.device)
            .map_err(|e| run(&e))?;
        let mask = Tensor::from_vec(flat(&|e| e.get_attention_mask()), shape, &self.device)
            .map_err(|e| run(&e))?;
        self.pool(&ids, &types, &mask)
    }

    /// The model over token ids, mean-pooled over the attention mask and L2-normalised.
    ///
    /// # Shapes
    /// - `ids`, `types`, `mask`: `[batch, tokens]` (u32)
    /// - output: `batch` vectors of [`EMBEDDING_DIM`]
    fn pool(
        &self,
        ids: &Tensor,
        types: &Tensor,
        mask: &Tensor,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let run = |e: &dyn std::fmt::Display| EmbedError::Run(e.to_string());
        let hidden = self
            .model
            .forward(ids, types, Some(mask))
            .map_err(|e| run(&e))?;
        // Mean over real tokens: sum(hidden · mask) / sum(mask), then L2-normalise.
        let pooled = (|| {
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
            let mean = summed.broadcast_div(&counts)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        })()
        .map_err(|e: candle_core::Error| run(&e))?;
        Ok(pooled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_sentence_transformers_reference() {
        let folder = model_dir();
        let reference: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(folder.with_file_name("all-MiniLM-L6-v2.reference.json"))
                .expect("the reference file should sit beside the model folder"),
        )
        .unwrap();
        let sentences: Vec<&str> = reference["sentences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let embedder = SentenceEmbedder::load(&folder).unwrap();
        // One batch, so padding to the longest sentence is exercised too.
        let ours = embedder.embed(&sentences).unwrap();
        let expected = reference["embeddings"].as_array().unwrap();
        assert_eq!(ours.len(), expected.len());
        let mut worst = 0f32;
        for (mine, theirs) in ours.iter().zip(expected) {
            let theirs = theirs.as_array().unwrap();
            assert_eq!(mine.len(), theirs.len());
            for (a, b) in mine.iter().zip(theirs) {
                worst = worst.max((a - b.as_f64().unwrap() as f32).abs());
            }
        }
        assert!(
            worst < 1e-4,
            "largest difference from the reference: {worst}"
        );
    }

    #[test]
    fn an_unreadable_model_folder_is_named() {
        let Err(err) = SentenceEmbedder::load(Path::new("/nonexistent/model")) else {
            panic!("loading a missing folder should fail");
        };
        let message = err.to_string();
        assert!(
            message.contains("/nonexistent/model") && message.contains("config.json"),
            "{message}"
        );
    }
}
