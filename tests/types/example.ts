// Type-checks (tsc --noEmit, never run) a program that uses every part of the public API.
import { Embedder, OPFSCache, Reranker, SearchIndex, WebembedError, type AddProgress, type BackendChangeEvent, type BackendChoice, type ErrorCode, type IrMetrics, type ModelCache, type ProgressEvent, type SearchHit, type ShippedHit, type ShippedIndex, type Span } from 'webembed';

const store = new Map<string, Response>();
const cache: ModelCache = {
  async match(url) {
    return store.get(url)?.clone();
  },
  async put(url, response) {
    store.set(url, response);
  },
  async delete(url) {
    return store.delete(url);
  },
  async keys() {
    return [...store.keys()];
  },
};

async function main(): Promise<void> {
  const controller = new AbortController();
  const model: Embedder = await Embedder.load('sentence-transformers/all-MiniLM-L6-v2', {
    backend: 'auto',
    hubUrl: 'https://huggingface.co',
    revision: 'main',
    onProgress: (event: ProgressEvent) => console.log(event.file, event.loaded, event.total, event.status, event.aggregate.loaded),
    signal: controller.signal,
    fetch: globalThis.fetch,
    cache,
    integrity: { 'model.safetensors': 'sha256-AAAA' },
    worker: false,
    threads: 'auto',
    memoryBudget: 256 * 2 ** 20,
    simd: 'auto',
    dtype: 'f16',
    truncateDim: 256,
    onBackendChange: (event: BackendChangeEvent) => console.warn(event.from, event.to, event.reason),
  });
  const gpu: { adapter: string; f16Weights: boolean; buffers: number } | null = model.gpuInfo;
  const whyCpu: string | null = model.webgpuUnavailableReason;
  const choice: BackendChoice = model.backendChoice;
  const split: number | null | undefined = choice.chosen === 'per-batch' ? choice.gpuFromTokens : null;
  console.log(choice.reason, choice.cpu?.[0]?.ms, choice.webgpuLine?.perTokenMs, split);
  const buffers: number = model.gpuBufferCount;
  const precision: 'f32' | 'f16' | 'q8' = model.dtype;
  console.log(gpu, whyCpu, buffers, precision);
  const vectors: Float32Array[] = await model.encode(['query: a', 'passage: b'], { promptName: 'query', prompt: 'query: ', batchSize: 8, truncateDim: 128 });
  const one: Float32Array[] = await model.encode('single');
  const scores: Float32Array[] = model.similarity(vectors, one);
  const ids: number[] = await model.tokenize('text', { promptName: 'query' });
  const info: [number, number, 'cpu' | 'webgpu', 'relaxed-simd' | 'simd128', string, Record<string, string>] =
    [model.dimension, model.maxSeqLength, model.backend, model.simd, model.url, model.prompts];
  console.log(scores, ids, info, model.wasmMemoryBytes);
  const running: [number, 'shared-memory' | 'worker-pool' | 'none'] = [model.threads, model.parallelism];
  console.log(running);
  const spans: Span[] = await model.chunks('a long text', { maxTokens: 128, overlapTokens: 16, promptName: 'passage' });
  const index: SearchIndex<{ url: string }> = await model.openIndex<{ url: string }>('notes', {
    vectors: 'int8', storage: 'auto', chunkTokens: 256, overlapTokens: 32, queryPrompt: 'query: ', documentPrompt: 'passage: ',
    language: 'english', k1: 1.2, b: 0.75,
  });
  await index.add([{ id: 'a1', text: 'text', title: 'Guide › Install · guide.md', metadata: { url: 'https://example.com' } }], { onProgress: (p: AddProgress) => console.log(p.chunks, p.totalChunks), batchSize: 16 });
  const hits: SearchHit<{ url: string }>[] = await index.search('query', { k: 5, filter: (m) => m?.url.startsWith('https') ?? false });
  const hybrid: SearchHit<{ url: string }>[] = await index.search('os.path.realpath', { mode: 'hybrid', fusion: { method: 'weighted', weight: 0.7 }, candidates: 100 });
  const why: [number | null, number | null, Span[]] = [hybrid[0]?.semanticScore ?? null, hybrid[0]?.keywordScore ?? null, hybrid[0]?.highlights ?? []];
  const keywordOnly = await index.search('realpath', { mode: 'keyword', fusion: { method: 'rrf' } });
  console.log(why, keywordOnly.length, index.settings.keywords.language, index.settings.keywords.k1);
  console.log(spans, hits[0]?.chunk.start, hits[0]?.text, index.size, index.chunkCount, index.vectorBytes, index.keywordBytes, index.storage, index.settings.model.dimension, index.has('a1'), index.ids(), index.get('a1')?.chunks);
  const removedDocs: number = await index.remove(['a1']);
  const exported: ArrayBuffer = await index.export();
  const copy: SearchIndex = await model.importIndex(exported, { name: 'notes-copy', storage: 'opfs' });
  await Promise.all([index.clear(), index.close(), copy.close()]);
  const metrics: IrMetrics = await model.evaluate({ queries: { q: 'a' }, corpus: { c: 'b' }, relevant: { q: ['c'] } }, { k: [1, 10], queryPrompt: 'query: ', corpusPrompt: 'passage: ', batchSize: 8 });
  const hybridMetrics: IrMetrics = await model.evaluate({ queries: { q: 'a' }, corpus: { c: 'b' }, relevant: { q: ['c'] } }, { mode: 'hybrid', fusion: { method: 'rrf' }, index: { language: 'en' } });
  console.log(hybridMetrics.mrr[10]);
  const reranker: Reranker = await Reranker.load('cross-encoder/ms-marco-MiniLM-L6-v2', { dtype: 'q8', worker: true, threads: 2, backend: 'auto', cache: true });
  const pairScores: number[] | number[][] = await reranker.score([['query', 'passage']], { batchSize: 16 });
  const ranked: { index: number; score: number; text?: string }[] = await reranker.rank('query', ['a', 'b'], { k: 1, returnDocuments: true });
  const reranked: SearchHit[] = await index.search('notes', { rerank: reranker, candidates: 30 });
  const rerankedMetrics: IrMetrics = await model.evaluate({ queries: { q: 'a' }, corpus: { c: 'b' }, relevant: { q: ['c'] } }, { rerank: reranker, candidates: 20 });
  console.log(pairScores, ranked[0]?.index, reranked[0]?.rerankScore, rerankedMetrics.mrr[10], reranker.numLabels, reranker.maxSeqLength, reranker.backend, reranker.dtype, reranker.url, reranker.threads, reranker.webgpuUnavailableReason);
  await reranker.dispose();
  const shipped: ShippedIndex<{ title: string }> = await model.loadIndex('/search-index/', { cache, signal: new AbortController().signal, fetch: globalThis.fetch });
  const shippedHits: ShippedHit<{ title: string }>[] = await shipped.search('open a file', { k: 5, probes: 4, mode: 'hybrid', rerank: reranker, signal: AbortSignal.timeout(5000) });
  console.log(shippedHits[0]?.url, shippedHits[0]?.metadata?.title, shipped.fetched.bytes, shipped.memoryBytes, shipped.settings.keywords?.k1, shipped.storage, shipped.size, shipped.chunkCount);
  await shipped.close();
  console.log(removedDocs, metrics.ndcg[10], metrics.queries);
  await model.dispose();
  const removed: number = await Embedder.clearCache('/models/all-MiniLM-L6-v2/', { cache: new OPFSCache('my-models') });
  console.log(removed);
}

main().catch((error: unknown) => {
  if (error instanceof WebembedError) {
    const code: ErrorCode = error.code;
    console.error(code, error.message);
  }
});
