/// One timed run of one row: the training loop's seconds and what the trained model
/// scores, so that a fast but wrong run shows.
public struct RunResult: Sendable, Equatable {
    /// Seconds of the timed loop (data already loaded and minibatched; warm-up excluded).
    public var seconds: Double
    /// The trained model's training-set loss (mlp-record: the last minibatch's loss).
    public var loss: Double
    /// Training-set accuracy, for the MNIST classifiers.
    public var trainAccuracy: Double?
    /// Test-set accuracy, for the MNIST classifiers.
    public var testAccuracy: Double?
    /// Cores other processes used during the timed loop (> 0.1 on 2 cores: a disturbed run).
    public var otherCores: Double?
    /// How many units (images, words, sentences) the timed loop processed, for rows
    /// reported as a rate (see `TableCase.rate`).
    public var items: Double?

    /// A measurement; accuracies and load when known.
    ///
    ///     RunResult(seconds: 1.9, loss: 0.275, trainAccuracy: 0.92, testAccuracy: 0.915)
    public init(seconds: Double, loss: Double, trainAccuracy: Double? = nil, testAccuracy: Double? = nil,
                otherCores: Double? = nil, items: Double? = nil) {
        self.seconds = seconds
        self.loss = loss
        self.trainAccuracy = trainAccuracy
        self.testAccuracy = testAccuracy
        self.otherCores = otherCores
        self.items = items
    }
}
