// MMRazor's toy_module: a function whose output is random.
exports.toyFunc = function toyFunc() {
  return Math.floor(Math.random() * 1000000);
};
