// The demo's starting passages: varied topics so a query has one clear best match.
export const PASSAGES = [
  'The Sun is the star at the centre of the Solar System; its surface is about 5,500 °C.',
  'Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar and oxygen.',
  'The Great Wall of China stretches for thousands of kilometres across northern China.',
  'A sourdough starter is a mix of flour and water that hosts wild yeast and bacteria.',
  'Python is a programming language known for its readable syntax and large ecosystem.',
  'WebAssembly lets browsers run compiled code from languages such as Rust at near-native speed.',
  'Regular exercise strengthens the heart and lowers the risk of many chronic diseases.',
  'The Amazon rainforest produces a large share of the planet\'s oxygen and holds vast biodiversity.',
  'Bitcoin is a decentralised digital currency secured by a proof-of-work blockchain.',
  'Mount Everest, at 8,849 metres, is the highest mountain above sea level.',
  'Cats spend up to sixteen hours a day sleeping, more than most other mammals.',
  'The French Revolution began in 1789 and ended the absolute monarchy in France.',
  'Vaccines train the immune system to recognise a pathogen without causing the disease.',
  'Espresso is brewed by forcing hot water through finely ground coffee under pressure.',
];
