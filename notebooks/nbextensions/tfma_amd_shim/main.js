// tfma_amd_shim: a classic-notebook (nbclassic) extension that loads TFMA's widget bundle
// without RequireJS's define() in sight.
//
// Why: on first render, TFMA 0.47's widget views append a plain
// <script src=".../nbextensions/tensorflow_model_analysis/vulcanized_tfma.js"> (its Polymer
// elements). That bundle embeds d3-tip as a UMD module, which calls an anonymous define()
// whenever an AMD loader is on the page, and the classic notebook runs on RequireJS.
// RequireJS then throws "Mismatched anonymous define() module" from the next require() it
// serves, typically the widget manager loading the next TFMA view, which never appears
// (and can leave its cell waiting). In Colab and TensorBoard there is no AMD loader, so
// d3-tip attaches itself to the global d3 instead.
//
// What: when a notebook opens, this extension adds an inert marker
// <script type="text/plain"> with the bundle's src (TFMA's loader only checks that a
// script with that src exists, so it will not add its own), fetches the bundle and runs it
// in global scope with window.define unset, as it would run outside the notebook. The
// Makefile installs and enables it (`make notebook-extensions`).
define(['base/js/utils'], function (utils) {
  'use strict';

  function bundleUrl() {
    var base = utils.get_body_data('baseUrl') || '/';
    return base + 'nbextensions/tensorflow_model_analysis/vulcanized_tfma.js';
  }

  function runWithoutAmd(code, url) {
    var define = window.define;
    window.define = undefined;
    try {
      // Indirect eval: global scope, as a <script> would run it.
      (0, eval)(code + '\n//# sourceURL=' + url);
    } finally {
      window.define = define;
    }
  }

  function load_ipython_extension() {
    var url = bundleUrl();
    if (document.querySelector('script[src="' + url + '"]')) {
      return;  // already on the page
    }
    var marker = document.createElement('script');
    marker.type = 'text/plain';  // neither fetched nor run by the browser
    marker.setAttribute('src', url);
    marker.setAttribute('data-loaded-by', 'tfma_amd_shim');
    document.head.appendChild(marker);
    return fetch(url, {credentials: 'same-origin'})
      .then(function (response) {
        if (!response.ok) {
          throw new Error('HTTP ' + response.status + ' for ' + url);
        }
        return response.text();
      })
      .then(function (code) {
        runWithoutAmd(code, url);
      })
      .catch(function (error) {
        console.error('tfma_amd_shim: TFMA widgets will not render:', error);
      });
  }

  return {load_ipython_extension: load_ipython_extension};
});
