import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotImplementedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ExchangeTokenRequestDto, ExchangeTokenResponseDto } from './phone-auth.dto.js';
import { PhoneAuthService } from './phone-auth.service.js';

/** The phone builds the path from its backend URL; `/api/auth/...` is the same route under the API prefix. */
@ApiTags('phone: sign-in')
@Controller()
export class PhoneAuthController {
  constructor(private readonly auth: PhoneAuthService) {}

  @Post(['auth/exchange-token', 'api/auth/exchange-token'])
  @HttpCode(200)
  @ApiOperation({
    summary: "The phone's sign-in: the identity provider's token → a core token for the user its email claim names",
    description:
      'Verified with SUPABASE_JWT_SECRET (HS256) or PHONE_AUTH_JWKS_URL (asymmetric), with PHONE_AUTH_ISSUER / PHONE_AUTH_AUDIENCE when set. The user is created on first sign-in.',
  })
  @ApiOkResponse({ type: ExchangeTokenResponseDto })
  @ApiBadRequestResponse({ description: 'No supabaseToken' })
  @ApiUnauthorizedResponse({
    description:
      'INVALID_TOKEN (details.reason: malformed, algorithm, signature, issuer, audience, not_yet_valid, no_matching_key, no_email) or TOKEN_EXPIRED',
  })
  @ApiNotImplementedResponse({
    description: 'NOT_CONFIGURED: neither SUPABASE_JWT_SECRET nor PHONE_AUTH_JWKS_URL is set',
  })
  @ApiServiceUnavailableResponse({ description: "PROVIDER_UNAVAILABLE: the provider's JWKS could not be fetched" })
  exchange(@Body() body: ExchangeTokenRequestDto): Promise<ExchangeTokenResponseDto> {
    return this.auth.exchange(body.supabaseToken);
  }
}
