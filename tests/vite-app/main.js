// A tiny app that imports the package by name, as a Vite user would; the test builds and runs it.
import { Embedder } from 'webembed';

async function run() {
  const model = await Embedder.load('/models/all-MiniLM-L6-v2/', { cache: false });
  const [inPage] = await model.encode('A man is eating food.');
  await model.dispose();
  const worker = await Embedder.load('/models/all-MiniLM-L6-v2/', { cache: false, worker: true });
  const [inWorker] = await worker.encode('A man is eating food.');
  await worker.dispose();
  return { inPage: Array.from(inPage), inWorker: Array.from(inWorker), simd: model.simd };
}

run().then(
  (result) => {
    document.getElementById('out').textContent = JSON.stringify(result);
    document.body.dataset.done = 'ok';
  },
  (error) => {
    document.getElementById('out').textContent = `${error.code ?? 'Error'}: ${error.message}`;
    document.body.dataset.done = 'error';
  },
);
