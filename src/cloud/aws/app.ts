#!/usr/bin/env node
// The CDK app for `npx aws-cdk deploy --app "node dist/cloud/aws/app.js"`. Sizes come from context:
//   -c cai:memoryMb=10240 -c cai:timeoutS=900 -c cai:ephemeralMb=2048 -c cai:stackName=Cai
import { App } from 'aws-cdk-lib';
import { addStack, stackOptionsFromContext } from './synth.js';

const app = new App({ analyticsReporting: false });
addStack(app, stackOptionsFromContext((k) => app.node.tryGetContext(k)));
app.synth();
