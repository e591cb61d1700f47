// The model: a multilayer perceptron with ReLU hidden layers. It knows nothing about
// distillation: `features(x)` is its last hidden layer, `forward(x)` its logits. The
// recorders of features.json read `MLP.features` of the teacher and of the student.
import * as tf from '@tensorflow/tfjs';

export class MLP {
  /** `hidden`: units per hidden layer; `seed` fixes the initial weights. */
  constructor({ inputs, hidden, classes, seed }) {
    this.hidden = hidden.map((units, i) => tf.layers.dense({ units, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: seed + i }) }));
    this.head = tf.layers.dense({ units: classes, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 99 }) });
    tf.tidy(() => this.forward(tf.zeros([1, inputs]))); // creates the weights
  }

  /** The last hidden layer's activations. */
  features(x) {
    return this.hidden.reduce((h, layer) => layer.apply(h), x);
  }

  /** The class scores (logits) for a batch. */
  forward(x) {
    return this.head.apply(this.features(x));
  }

  /** The weights an optimizer trains. */
  variables() {
    return [...this.hidden, this.head].flatMap((layer) => layer.trainableWeights.map((w) => w.read()));
  }
}
